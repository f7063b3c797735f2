"""The server-side protection of machine client keys at rest.

The handshake and the envelope both need a client's raw key, so the server cannot keep only a
hash of it as it does for passwords. Keys are stored sealed with AES-256-GCM under a key derived
(HKDF-SHA256) from AZAION_CLIENT_KEY_SECRET, which lives in the server's environment and never
in the database: a dump of the database alone opens no key and completes no handshake. The
client name is the associated data, so a sealed key copied onto another client's row does not
open.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_SIZE = 32
_VERSION = 1
_NONCE_SIZE = 12
_SALT = b"azaion/client-keys/v1"
_INFO = b"azaion client key at rest: aes-256-gcm"


class SealedKeyError(Exception):
    """A stored key that does not open: the secret changed, or the row was tampered with."""


class KeyVault:
    """Seals and opens client keys under the server's AZAION_CLIENT_KEY_SECRET."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret.encode())
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "KeyVault(<hidden>)"

    @staticmethod
    def _aad(client_name: str) -> bytes:
        return b"azaion client key\0" + client_name.encode("utf-8")

    def seal(self, client_name: str, key: bytes) -> bytes:
        """`version || nonce || AES-GCM(key)` for storing in the client's row."""
        nonce = os.urandom(_NONCE_SIZE)
        return bytes([_VERSION]) + nonce + self._aead.encrypt(nonce, key, self._aad(client_name))

    def open(self, client_name: str, sealed: bytes) -> bytes:
        """The raw key; SealedKeyError when it does not open."""
        if len(sealed) != 1 + _NONCE_SIZE + KEY_SIZE + 16 or sealed[0] != _VERSION:
            raise SealedKeyError()
        nonce, body = sealed[1 : 1 + _NONCE_SIZE], sealed[1 + _NONCE_SIZE :]
        try:
            return self._aead.decrypt(nonce, body, self._aad(client_name))
        except InvalidTag as e:
            raise SealedKeyError() from e
