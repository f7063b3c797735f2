"""The user+hardware envelope of docs/formats.md, section 1 (the server only seals).

AES-256-CBC with a random IV, then HMAC-SHA256 over version, IV and ciphertext
(encrypt-then-MAC); both keys come from HKDF-SHA256 over the identity, the secret and the
hardware hash, so only that user on that machine can open what the server sends.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from azaion_server.vocabulary import normalise_email

VERSION = 1
IV_SIZE = 16
TAG_SIZE = 32
_SALT = b"azaion/envelope/v1"
_INFO = b"azaion envelope v1: aes-256-cbc + hmac-sha256"


def _lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


@dataclass(frozen=True, repr=False)
class EnvelopeKeys:
    """The encryption and MAC keys of one identity on one machine (repr hides them)."""

    enc_key: bytes
    mac_key: bytes

    def __repr__(self) -> str:
        return "EnvelopeKeys(<hidden>)"


def derive_keys(identity: bytes, secret: bytes, hardware: str) -> EnvelopeKeys:
    """HKDF-SHA256 over lp(identity) || lp(secret) || lp(hardware), 64 bytes split in two."""
    ikm = _lp(identity) + _lp(secret) + _lp(hardware.encode("ascii"))
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=_SALT, info=_INFO).derive(ikm)
    return EnvelopeKeys(okm[:32], okm[32:])


def user_keys(email: str, password: str, hardware: str) -> EnvelopeKeys:
    """Keys for a user: identity = normalised email, secret = the password's UTF-8 bytes."""
    return derive_keys(normalise_email(email).encode("utf-8"), password.encode("utf-8"), hardware)


def seal(keys: EnvelopeKeys, plaintext: bytes, iv: bytes | None = None) -> bytes:
    """Encrypt `plaintext` into an envelope; `iv` is random unless a test vector injects one."""
    if iv is None:
        iv = os.urandom(IV_SIZE)
    if len(iv) != IV_SIZE:
        raise ValueError("the IV must be 16 bytes")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(keys.enc_key), modes.CBC(iv)).encryptor()
    body = bytes([VERSION]) + iv + encryptor.update(padded) + encryptor.finalize()
    return body + hmac.new(keys.mac_key, body, hashlib.sha256).digest()
