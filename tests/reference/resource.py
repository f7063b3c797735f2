"""Reference implementation of the segmented resource format (docs/formats.md, section 2).

Written from the document, independently of azaion/security.pyx; used only by tests.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap  # noqa: F401

MAGIC = b"AZRS"
VERSION = 1
ALGORITHM = 1
HEADER_LEN = 121
TAG_LEN = 16
DEFAULT_SEGMENT_SIZE = 1 << 20
# The published test wrapping key of docs/formats.md (setup.py's TEST_WRAPPING_KEY): what every
# build without AZAION_WRAPPING_KEY_FILE holds. Never a deployment's key.
TEST_WRAPPING_KEY = bytes.fromhex("5f1c3a7be08d4e2f96a1c0b7d35e8f42a9b6c1d0e7f3a5b8c2d4e6f8091a3b5c")
KEY_ID_LABEL = b"azaion wrapping key id v1"


class ResourceError(Exception):
    pass


def lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def keys(resource_key: bytes, salt: bytes, folder: str, name: str) -> tuple[bytes, bytes]:
    info = b"azaion resource v1" + lp(folder.encode()) + lp(name.encode())
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=info).derive(resource_key)
    return okm[:32], okm[32:]


def key_id(wrapping_key: bytes) -> int:
    """The header's key id of a wrapping key: 1 + SHA-256(label || key)[0] mod 255."""
    return 1 + hashlib.sha256(KEY_ID_LABEL + wrapping_key).digest()[0] % 255


def nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


def encrypt(
    plaintext: bytes,
    *,
    shared_key: bytes,
    folder: str,
    name: str,
    resource_key: bytes,
    salt: bytes,
    nonce_prefix: bytes,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
    key_id_byte: int | None = None,
) -> bytes:
    segment_key, commit_key = keys(resource_key, salt, folder, name)
    head = (
        MAGIC
        + bytes([VERSION, ALGORITHM, key_id(shared_key) if key_id_byte is None else key_id_byte])
        + segment_size.to_bytes(3, "big")
        + salt
        + nonce_prefix
        + aes_key_wrap(shared_key, resource_key)
    )
    head += hmac.new(commit_key, head, hashlib.sha256).digest()
    chunks = [plaintext[i : i + segment_size] for i in range(0, len(plaintext), segment_size)] or [b""]
    aead = AESGCM(segment_key)
    out = [head]
    for i, chunk in enumerate(chunks):
        out.append(aead.encrypt(nonce(nonce_prefix, i, i == len(chunks) - 1), chunk, b""))
    return b"".join(out)


def decrypt(ciphertext: bytes, *, shared_key: bytes, folder: str, name: str) -> bytes:
    if len(ciphertext) < HEADER_LEN + TAG_LEN or ciphertext[:4] != MAGIC:
        raise ResourceError("integrity")
    if ciphertext[4] != VERSION or ciphertext[5] != ALGORITHM or ciphertext[6] != key_id(shared_key):
        raise ResourceError("integrity")
    segment_size = int.from_bytes(ciphertext[7:10], "big")
    if segment_size & (segment_size - 1) or not (1 << 12) <= segment_size <= (1 << 22):
        raise ResourceError("integrity")
    salt, prefix = ciphertext[10:42], ciphertext[42:49]
    try:
        resource_key = aes_key_unwrap(shared_key, ciphertext[49:89])
    except InvalidUnwrap as e:
        raise ResourceError("integrity") from e
    segment_key, commit_key = keys(resource_key, salt, folder, name)
    expected = hmac.new(commit_key, ciphertext[:89], hashlib.sha256).digest()
    if not hmac.compare_digest(expected, ciphertext[89:121]):
        raise ResourceError("integrity")
    body = ciphertext[HEADER_LEN:]
    step = segment_size + TAG_LEN
    pieces = [body[i : i + step] for i in range(0, len(body), step)]
    if len(pieces[-1]) < TAG_LEN or (len(pieces[-1]) == TAG_LEN and len(pieces) > 1):
        raise ResourceError("integrity")
    aead = AESGCM(segment_key)
    out = []
    for i, piece in enumerate(pieces):
        try:
            out.append(aead.decrypt(nonce(prefix, i, i == len(pieces) - 1), piece, b""))
        except Exception as e:
            raise ResourceError("integrity") from e
    return b"".join(out)


def split(ciphertext: bytes, small_size_kb: int = 3) -> tuple[bytes, bytes]:
    small_len = max(HEADER_LEN, min(small_size_kb * 1024, len(ciphertext) * 3 // 10))
    return ciphertext[:small_len], ciphertext[small_len:]
