"""The server-side protection of machine client keys at rest.

The handshake and the envelope both need a client's raw key, so the server cannot keep only a
hash of it as it does for passwords. Keys are stored sealed with AES-256-GCM under a key derived
(HKDF-SHA256) from AZAION_CLIENT_KEY_SECRET, which lives in the server's environment and never
in the database: a dump of the database alone opens no key and completes no handshake. The
client name is the associated data, so a sealed key copied onto another client's row does not
open.
"""

from __future__ import annotations

from azaion_server.sealed import SealedBox

KEY_SIZE = 32


class SealedKeyError(Exception):
    """A stored key that does not open: the secret changed, or the row was tampered with."""


class KeyVault(SealedBox):
    """Seals and opens client keys under the server's AZAION_CLIENT_KEY_SECRET (by client name)."""

    salt = b"azaion/client-keys/v1"
    info = b"azaion client key at rest: aes-256-gcm"
    label = b"azaion client key"
    size = KEY_SIZE
    error = SealedKeyError
