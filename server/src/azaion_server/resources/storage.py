"""Where the bytes of resources live: in the database, or in files under AZAION_STORAGE_DIR.

Both stores receive an upload through an `UploadBuffer` that hashes and counts while the body
streams in, so a body above the limit is refused before it is read to the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy.orm import Session

from azaion_server.resources.entities import Resource, ResourceBlob
from azaion_server.resources.exceptions import StorageCorrupt, UploadTooLarge

log = logging.getLogger(__name__)

_CHECKSUM_HEX = frozenset("0123456789abcdef")


class UploadBuffer:
    """A temporary file filling up with one upload, its SHA-256 and its size."""

    def __init__(self, file: IO[bytes], limit: int, path: Path | None = None) -> None:
        self.file = file
        self.path = path
        self.limit = limit
        self.size = 0
        self._sha256 = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        """Append `chunk`; UploadTooLarge once the limit is passed."""
        self.size += len(chunk)
        if self.size > self.limit:
            raise UploadTooLarge()
        self._sha256.update(chunk)
        self.file.write(chunk)

    @property
    def checksum(self) -> str:
        """Lowercase hex SHA-256 of what was written."""
        return self._sha256.hexdigest()

    def read_all(self) -> bytes:
        """Everything written so far."""
        self.file.flush()
        self.file.seek(0)
        return self.file.read()

    def read_head(self, size: int) -> bytes:
        """The first `size` bytes written."""
        self.file.flush()
        self.file.seek(0)
        return self.file.read(size)

    def discard(self) -> None:
        """Close and remove the temporary file (idempotent)."""
        self.file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class Storage(Protocol):
    """A place for resource bytes."""

    def new_buffer(self, limit: int) -> UploadBuffer:
        """An empty buffer for one upload of at most `limit` bytes."""

    def save(self, session: Session, resource: Resource, buffer: UploadBuffer) -> None:
        """Make `buffer` the bytes of `resource` (flushed, with an id), inside the transaction."""

    def after_commit(self, resource: Resource) -> None:
        """Drop what earlier versions of `resource` left behind."""

    def read(self, session: Session, resource: Resource) -> bytes:
        """The bytes of `resource`, checked against its checksum."""


def _checked(resource: Resource, data: bytes | None) -> bytes:
    if data is None or hashlib.sha256(data).hexdigest() != resource.checksum:
        log.error("resource %s (%s/%s) is missing or corrupt", resource.id, resource.folder, resource.name)
        raise StorageCorrupt()
    return data


class DatabaseStorage:
    """Bytes in the `resource_blobs` table: one place to back up, fine for small parts."""

    # Uploads stay in memory up to this size, then spill to a temporary file.
    SPOOL_BYTES = 1024 * 1024

    def new_buffer(self, limit: int) -> UploadBuffer:
        """A spooled temporary file."""
        return UploadBuffer(tempfile.SpooledTemporaryFile(max_size=self.SPOOL_BYTES), limit)

    def save(self, session: Session, resource: Resource, buffer: UploadBuffer) -> None:
        """Insert or replace the blob row."""
        session.merge(ResourceBlob(resource_id=resource.id, data=buffer.read_all()))

    def after_commit(self, resource: Resource) -> None:
        """Nothing: the row was replaced in the same transaction."""

    def read(self, session: Session, resource: Resource) -> bytes:
        """The blob row's bytes."""
        blob = session.get(ResourceBlob, resource.id)
        return _checked(resource, blob.data if blob else None)


class FileStorage:
    """Bytes in files: `{root}/{resource id}/{sha256}`, one file per version.

    A version is written to a temporary file in `{root}/.tmp`, flushed to disk and renamed into
    place before the database row names it, so a reader sees either the old version or the new
    one, whole, and a crash leaves at worst an orphan file. Paths are built from the integer id
    and a hex digest only, never from a client's name, and checked to stay under the root.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"FileStorage({str(self.root)!r})"

    def _path(self, resource_id: int, checksum: str) -> Path:
        if len(checksum) != 64 or not set(checksum) <= _CHECKSUM_HEX:
            raise StorageCorrupt()
        path = (self.root / str(int(resource_id)) / checksum).resolve()
        if not path.is_relative_to(self.root):  # pragma: no cover - unreachable by construction
            raise StorageCorrupt()
        return path

    def new_buffer(self, limit: int) -> UploadBuffer:
        """A named temporary file inside the root, so that the final rename stays atomic."""
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="upload-", suffix=".part")
        return UploadBuffer(os.fdopen(fd, "w+b"), limit, Path(name))

    def save(self, session: Session, resource: Resource, buffer: UploadBuffer) -> None:
        """Move the buffer's file to its final name (fsynced first)."""
        assert buffer.path is not None
        path = self._path(resource.id, buffer.checksum)
        buffer.file.flush()
        os.fsync(buffer.file.fileno())
        buffer.file.close()
        path.parent.mkdir(exist_ok=True)
        os.replace(buffer.path, path)

    def after_commit(self, resource: Resource) -> None:
        """Remove the files of earlier versions."""
        keep = self._path(resource.id, resource.checksum)
        for old in keep.parent.iterdir():
            if old != keep:
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()

    def read(self, session: Session, resource: Resource) -> bytes:
        """The version the row names."""
        try:
            data: bytes | None = self._path(resource.id, resource.checksum).read_bytes()
        except FileNotFoundError:
            data = None
        return _checked(resource, data)
