"""Adversarial fixtures: hand-crafted ciphertexts served through the scripted API and the emulator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.client.conftest import EMAIL, PASSWORD, api, api_url, client, isolated_env  # noqa: F401
from tests.reference import resource as reference

SHARED_KEY = reference.TEST_WRAPPING_KEY
SEGMENT = 4096
FOLDER = "models"


def craft(plaintext: bytes, name: str, segment_size: int = SEGMENT, folder: str = FOLDER) -> bytes:
    """A valid ciphertext of the resource format, made by the reference implementation."""
    return reference.encrypt(
        plaintext,
        shared_key=SHARED_KEY,
        folder=folder,
        name=name,
        resource_key=os.urandom(32),
        salt=os.urandom(32),
        nonce_prefix=os.urandom(7),
        segment_size=segment_size,
    )


@pytest.fixture
def serve(api, tmp_path):  # noqa: F811 - `api` is the fixture imported above
    """Publish raw ciphertext bytes as resource `name`: small part to the API, big part to the
    CDN (under the key its header names) and, when `cache` is set, into the client's cache."""

    def put(
        ciphertext: bytes, name: str, *, cache: bool = True, cdn: bool = True, folder: str = FOLDER
    ) -> None:
        small, big = reference.split(ciphertext)
        api.resources[(folder, name)] = small
        if cdn and len(small) >= 26:
            api.s3.client().put_object(Bucket=api.bucket, Key=api.big_key(folder, name), Body=big)
        path = Path(tmp_path / "cache" / folder / f"{name}.big")
        if cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(big)
        elif path.exists():
            path.unlink()

    return put
