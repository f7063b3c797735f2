"""Secrets at rest in the database, sealed under a secret of the server's environment.

One scheme for every kind of stored secret (machine client keys, signing keys): AES-256-GCM
under a key derived with HKDF-SHA256 from the server secret (a salt and info per kind), stored as
`version || nonce || ciphertext`, with the row's name as associated data so that a sealed value
copied onto another row does not open. A dump of the database alone opens nothing.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = 1
_NONCE_SIZE = 12
_TAG_SIZE = 16


class SealedBox:
    """Seals and opens secrets of `size` bytes for one kind of row; subclasses name the kind.

    A subclass sets `salt`, `info` (the HKDF inputs), `label` (the associated data's prefix),
    `size` and `error` (raised when a sealed value does not open).
    """

    salt: bytes
    info: bytes
    label: bytes
    size: int
    error: type[Exception]

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=self.salt, info=self.info).derive(
            secret.encode()
        )
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"

    def _aad(self, name: str) -> bytes:
        return self.label + b"\0" + name.encode("utf-8")

    def seal(self, name: str, secret: bytes) -> bytes:
        """`version || nonce || AES-GCM(secret)` for the row named `name`."""
        nonce = os.urandom(_NONCE_SIZE)
        return bytes([_VERSION]) + nonce + self._aead.encrypt(nonce, secret, self._aad(name))

    def open(self, name: str, sealed: bytes) -> bytes:
        """The raw secret of the row named `name`; `error` when it does not open."""
        if len(sealed) != 1 + _NONCE_SIZE + self.size + _TAG_SIZE or sealed[0] != _VERSION:
            raise self.error()
        try:
            return self._aead.decrypt(sealed[1 : 1 + _NONCE_SIZE], sealed[1 + _NONCE_SIZE :], self._aad(name))
        except InvalidTag as e:
            raise self.error() from e
