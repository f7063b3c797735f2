"""Reference implementation of the user+hardware envelope (docs/formats.md, section 1).

Written from the document, independently of azaion/security.pyx; used only by tests.
"""

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = 1
SALT = b"azaion/envelope/v1"
INFO = b"azaion envelope v1: aes-256-cbc + hmac-sha256"


class EnvelopeError(Exception):
    pass


def lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hardware_hash(fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode()).hexdigest()


def derive_keys(identity: bytes, secret: bytes, hardware: str) -> tuple[bytes, bytes]:
    ikm = lp(identity) + lp(secret) + lp(hardware.encode())
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=SALT, info=INFO).derive(ikm)
    return okm[:32], okm[32:]


def user_keys(email: str, password: str, hardware: str) -> tuple[bytes, bytes]:
    return derive_keys(normalise_email(email).encode(), password.encode(), hardware)


def seal(keys: tuple[bytes, bytes], plaintext: bytes, iv: bytes) -> bytes:
    enc_key, mac_key = keys
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    body = bytes([VERSION]) + iv + encryptor.update(padded) + encryptor.finalize()
    return body + hmac.new(mac_key, body, hashlib.sha256).digest()


def open_(keys: tuple[bytes, bytes], envelope: bytes) -> bytes:
    enc_key, mac_key = keys
    if len(envelope) < 65 or (len(envelope) - 49) % 16 or envelope[0] != VERSION:
        raise EnvelopeError("integrity")
    body, tag = envelope[:-32], envelope[-32:]
    if not hmac.compare_digest(hmac.new(mac_key, body, hashlib.sha256).digest(), tag):
        raise EnvelopeError("integrity")
    decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(body[1:17])).decryptor()
    padded = decryptor.update(body[17:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as e:
        raise EnvelopeError("integrity") from e
