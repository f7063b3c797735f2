"""Small parts kept in process memory, keyed by resource version, in front of either store.

`POST /resources/get` reads the same few KiB for every device that loads a model; without this
every download is a blob query (or a file read) and a SHA-256 of it. An entry is keyed by the
resource's id and its checksum, which is what names a version: the row read on every request
says which version is current, so a new upload (a new checksum) misses at once in every process
and every instance, and no invalidation is needed. Entries hold bytes already checked against
that checksum. The cache is bounded in bytes (AZAION_SMALL_PART_CACHE_BYTES, least recently used
first out); parts larger than an eighth of it are never kept.
"""

from __future__ import annotations

import threading

from cachetools import LRUCache
from sqlalchemy.orm import Session

from azaion_server.resources.entities import Resource
from azaion_server.resources.storage import Storage, UploadBuffer


class CachedStorage:
    """A `Storage` that remembers what it read, by (resource id, checksum)."""

    def __init__(self, store: Storage, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self._entries: LRUCache[tuple[int, str], bytes] = LRUCache(maxsize=max(1, max_bytes), getsizeof=len)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"CachedStorage({self.store!r}, entries={len(self._entries)}, bytes={self._entries.currsize})"

    def new_buffer(self, limit: int) -> UploadBuffer:
        """The store's buffer."""
        return self.store.new_buffer(limit)

    def save(self, session: Session, resource: Resource, buffer: UploadBuffer) -> None:
        """The store's save (a new version has a new key: nothing to forget)."""
        self.store.save(session, resource, buffer)

    def after_commit(self, resource: Resource) -> None:
        """The store's clean-up."""
        self.store.after_commit(resource)

    def read(self, session: Session, resource: Resource) -> bytes:
        """The bytes of `resource`'s current version, from memory when this process read them."""
        key = (resource.id, resource.checksum)
        with self._lock:
            data = self._entries.get(key)
        if data is not None:
            self.hits += 1
            return data
        self.misses += 1
        data = self.store.read(session, resource)
        if self.max_bytes and len(data) <= self.max_bytes // 8:
            with self._lock:
                self._entries[key] = data
        return data

    @property
    def cached_bytes(self) -> int:
        """Bytes held now."""
        return int(self._entries.currsize)
