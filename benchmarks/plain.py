"""The reference implementations the client is measured against, written plainly with
`cryptography` and boto3, from docs/formats.md and the independent reference in tests/reference.

* floor: read the cached big part into one buffer beside the small part and decrypt every
  segment in place (one buffer, no copies beyond the read): what the machine can do in one
  process with `cryptography`;
* naive: read the big part into bytes, concatenate it with the small part, decrypt in one call
  (tests/reference/resource.py's `decrypt`: a slice per segment, a bytes per segment, a join);
* plain encrypt: the resource sealed segment by segment into a bytes (AESGCM, joined);
* plain download / upload: boto3's `get_object` + `read()`, `download_fileobj`, `upload_fileobj`
  with boto3's defaults.

The segment key comes from the small part and the shared key of the public test vectors
(tests/vectors/resource.json), which is what the format says a holder of the small part can do.
"""

from __future__ import annotations

import io
import json
import os
import struct
from pathlib import Path

from benchmarks.harness import FOLDER, ROOT

HEADER_LEN = 121
TAG_LEN = 16


def shared_key() -> bytes:
    return bytes.fromhex(json.loads((ROOT / "tests" / "vectors" / "resource.json").read_text())["shared_key"])


class SegmentKey:
    """The segment key and nonce prefix of one resource, from its small part."""

    def __init__(self, small: bytes, name: str, folder: str = FOLDER) -> None:
        from cryptography.hazmat.primitives.ciphers import algorithms
        from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

        from tests.reference import resource as ref

        head = small[:HEADER_LEN]
        self.segment_size = int.from_bytes(head[7:10], "big")  # head[6] is the key id
        resource_key = aes_key_unwrap(shared_key(), head[49:89])
        segment_key, _ = ref.keys(resource_key, head[10:42], folder, name)
        self.algorithm = algorithms.AES(segment_key)
        self.prefix = head[42:49]


def floor_load(path: Path, small: bytes, key: SegmentKey) -> bytearray:
    """Read the file once into a buffer beside the small part, decrypt each segment in place."""
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    size = os.path.getsize(path)
    total = len(small) + size
    buf = bytearray(total)
    view = memoryview(buf)
    view[: len(small)] = small
    with open(path, "rb", buffering=0) as f:
        done = len(small)
        while done < total:
            n = f.readinto(view[done:])
            if not n:
                raise OSError("short read")
            done += n
    step = key.segment_size + TAG_LEN
    count = max(1, -(-(total - HEADER_LEN) // step))
    for i in range(count):
        start = HEADER_LEN + i * step
        end = min(start + step, total)
        nonce = key.prefix + struct.pack(">IB", i, 1 if i == count - 1 else 0)
        decryptor = Cipher(key.algorithm, modes.GCM(nonce, bytes(view[end - TAG_LEN : end]))).decryptor()
        segment = view[start : end - TAG_LEN]
        decryptor.update_into(segment, segment)
        decryptor.finalize()
    return buf


def naive_load(path: Path, small: bytes, name: str, folder: str = FOLDER) -> bytes:
    """Read, concatenate, decrypt in one call: three copies of the resource at the peak."""
    from tests.reference import resource as ref

    return ref.decrypt(small + path.read_bytes(), shared_key=shared_key(), folder=folder, name=name)


def plain_encrypt(data: bytes, name: str, folder: str = FOLDER) -> bytes:
    """The whole resource sealed in memory (tests/reference/resource.py's `encrypt`)."""
    from tests.reference import resource as ref

    return ref.encrypt(
        data,
        shared_key=shared_key(),
        folder=folder,
        name=name,
        resource_key=os.urandom(32),
        salt=os.urandom(32),
        nonce_prefix=os.urandom(7),
    )


def plain_upload(s3, bucket: str, key: str, data: bytes) -> None:
    """boto3's managed upload with its defaults (8 MiB parts, 10 threads)."""
    s3.upload_fileobj(io.BytesIO(data), bucket, key)


def plain_get_object(s3, bucket: str, key: str) -> bytes:
    """One streaming GET, read whole."""
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def plain_download_fileobj(s3, bucket: str, key: str, path: Path) -> None:
    """boto3's managed download with its defaults (parallel 8 MiB ranged GETs) into a file."""
    with open(path, "wb") as f:
        s3.download_fileobj(bucket, key, f)
