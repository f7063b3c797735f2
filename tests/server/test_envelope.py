"""The server's envelope against the shared vectors and the independent reference."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from azaion_server import envelope

from tests.reference import envelope as reference

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "envelope.json").read_text())[
    "vectors"
]


def _keys(vector: dict) -> envelope.EnvelopeKeys:
    if vector["kind"] == "user":
        return envelope.user_keys(vector["identity"], vector["secret"], vector["hardware"])
    return envelope.derive_keys(
        vector["identity"].encode(), bytes.fromhex(vector["secret_hex"]), vector["hardware"]
    )


@pytest.mark.parametrize("vector", VECTORS, ids=[v["label"] for v in VECTORS])
def test_vectors_byte_for_byte(vector: dict) -> None:
    keys = _keys(vector)
    assert keys.enc_key.hex() == vector["enc_key"]
    assert keys.mac_key.hex() == vector["mac_key"]
    assert vector["hardware"] == reference.hardware_hash(vector["fingerprint"])
    sealed = envelope.seal(keys, bytes.fromhex(vector["plaintext"]), iv=bytes.fromhex(vector["iv"]))
    assert sealed.hex() == vector["envelope"]


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 4096, 100_000])
def test_random_iv_opens_with_reference(size: int) -> None:
    plaintext = os.urandom(size)
    keys = envelope.user_keys(" Some@One.example ", "pässword", "ab" * 32)
    first = envelope.seal(keys, plaintext)
    second = envelope.seal(keys, plaintext)
    assert first != second  # a fresh IV every time
    assert len(first) == 1 + 16 + (size // 16 + 1) * 16 + 32
    ref_keys = reference.user_keys("some@one.example", "pässword", "ab" * 32)
    assert reference.open_(ref_keys, first) == plaintext


def test_other_hardware_cannot_open() -> None:
    sealed = envelope.seal(envelope.user_keys("a@b.c", "pw", "0" * 64), b"secret")
    with pytest.raises(reference.EnvelopeError):
        reference.open_(reference.user_keys("a@b.c", "pw", "1" * 64), sealed)


def test_bad_iv_and_hidden_keys() -> None:
    keys = envelope.user_keys("a@b.c", "pw", "0" * 64)
    with pytest.raises(ValueError, match="16 bytes"):
        envelope.seal(keys, b"x", iv=b"short")
    assert "hidden" in repr(keys)
    assert keys.enc_key.hex() not in repr(keys)
