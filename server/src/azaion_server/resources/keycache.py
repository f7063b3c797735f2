"""Envelope keys of recent downloads, remembered in process memory (never on disk).

`POST /resources/get` carries the password on every call (a machine client its identity), and
the envelope key derives from it and the hardware hash: without this cache every download of a
user would cost one argon2 verification and one HKDF, and every download of a machine client
one AES-GCM opening of its stored key and one HKDF. An entry is found by an HMAC, under a
per-process random key, of everything the keys derive from and everything that must still hold
for them to be right: the caller's id, its stored password hash (or sealed key), the password
and the hardware. A password change (a new hash) or a re-registered client (a new sealed key)
therefore misses; a revoked token or a deleted caller never gets this far, since the token and
the caller are checked on every request before this cache is asked. An entry lives as long as
the token that made it, and at most AZAION_PASSWORD_CACHE_SECONDS.

It is the only cache on that path: a hit skips the password check altogether, a miss runs the
one throttled check (`auth.models.PasswordCheck`). The map itself is `cachetools.TLRUCache`,
whose per-entry expiry fits "as long as the token" (a `TTLCache` has one lifetime for all);
cachetools is not thread-safe, hence the lock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import threading
import time
from typing import NamedTuple

from cachetools import TLRUCache

from azaion_server.envelope import EnvelopeKeys


class _Entry(NamedTuple):
    keys: EnvelopeKeys
    expires: float  # time.monotonic()


def _expiry(_slot: bytes, entry: _Entry, _now: float) -> float:
    return entry.expires


class EnvelopeKeyCache:
    """A bounded, expiring map from an HMAC of a download's inputs to its envelope keys."""

    MAX_ENTRIES = 10_000

    def __init__(self, max_seconds: int) -> None:
        self.max_seconds = max_seconds
        self._secret = secrets.token_bytes(32)
        self._entries: TLRUCache[bytes, _Entry] = TLRUCache(maxsize=self.MAX_ENTRIES, ttu=_expiry)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EnvelopeKeyCache(entries={len(self)}, max_seconds={self.max_seconds})"

    def __len__(self) -> int:
        with self._lock:
            self._entries.expire()
            return len(self._entries)

    def slot(self, *parts: bytes) -> bytes:
        """The entry name for these inputs (each length-prefixed, so no two lists collide)."""
        message = b"".join(struct.pack(">I", len(part)) + part for part in parts)
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def get(self, slot: bytes) -> EnvelopeKeys | None:
        """The keys remembered under `slot`, unless they expired."""
        with self._lock:
            entry = self._entries.get(slot)
        return entry.keys if entry is not None else None

    def put(self, slot: bytes, keys: EnvelopeKeys, token_expires_at: float) -> None:
        """Remember `keys` until the token expires (a Unix time), at most `max_seconds`."""
        ttl = min(float(self.max_seconds), token_expires_at - time.time())
        if ttl <= 0:
            return
        with self._lock:
            self._entries[slot] = _Entry(keys, time.monotonic() + ttl)
