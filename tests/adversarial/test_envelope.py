"""The user+hardware envelope under attack, through the client: one error for everything."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest

import azaion
from tests.client.conftest import EMAIL, FINGERPRINT, PASSWORD
from tests.reference import envelope

FOLDER = "models"


@pytest.fixture
def sealed(client, api):
    """A real uploaded resource and the envelope the API sends for it."""
    client.upload_big_small_resource(os.urandom(300), "env.bin", FOLDER)
    small = api.resources[(FOLDER, "env.bin")]
    keys = envelope.user_keys(EMAIL, PASSWORD, envelope.hardware_hash(FINGERPRINT))
    return small, keys


def refuse(client, api, data: bytes) -> None:
    api.override_small[(FOLDER, "env.bin")] = data
    with pytest.raises(azaion.IntegrityError) as info:
        client.load_big_small_resource("env.bin", FOLDER)
    assert info.value.code == "INTEGRITY"


def test_every_byte_of_the_envelope_is_protected(client, api, sealed):
    small, keys = sealed
    good = envelope.seal(keys, small, os.urandom(16))
    api.override_small[(FOLDER, "env.bin")] = good
    assert client.load_big_small_resource("env.bin", FOLDER)  # sanity: the untouched one opens
    for offset in range(len(good)):
        flipped = bytearray(good)
        flipped[offset] ^= 1 << (offset % 8)
        refuse(client, api, bytes(flipped))


def test_truncated_and_extended_envelopes(client, api, sealed):
    small, keys = sealed
    good = envelope.seal(keys, small, os.urandom(16))
    for cut in [0, 1, 16, 17, 48, 64, 65, len(good) - 33, len(good) - 32, len(good) - 16, len(good) - 1]:
        refuse(client, api, good[:cut])
    refuse(client, api, good + b"\x00")
    refuse(client, api, good + os.urandom(16))


@pytest.mark.parametrize(
    ("email", "password", "fingerprint"),
    [
        ("someone-else@example.com", PASSWORD, FINGERPRINT),
        (EMAIL, PASSWORD + "!", FINGERPRINT),
        (EMAIL, PASSWORD, FINGERPRINT + " (another device)"),
    ],
    ids=["other user", "other password", "other hardware"],
)
def test_envelope_for_another_user_password_or_hardware(client, api, sealed, email, password, fingerprint):
    small, _ = sealed
    keys = envelope.user_keys(email, password, envelope.hardware_hash(fingerprint))
    refuse(client, api, envelope.seal(keys, small, os.urandom(16)))


def test_unknown_version_with_a_valid_mac_is_refused(client, api, sealed):
    small, keys = sealed
    good = bytearray(envelope.seal(keys, small, os.urandom(16)))
    good[0] = 2
    body = bytes(good[:-32])
    forged = body + hmac.new(keys[1], body, hashlib.sha256).digest()
    refuse(client, api, forged)


def test_bad_padding_under_a_valid_mac_is_the_same_error(client, api, sealed):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    _, (enc_key, mac_key) = sealed
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    body = b"\x01" + iv + encryptor.update(b"\x00" * 32) + encryptor.finalize()  # padding byte 0: invalid
    refuse(client, api, body + hmac.new(mac_key, body, hashlib.sha256).digest())


def test_one_error_message_for_every_failure(client, api, sealed):
    small, keys = sealed
    good = envelope.seal(keys, small, os.urandom(16))
    messages = set()
    for data in (good[:-1], bytes([good[0] ^ 1]) + good[1:], good[:40] + bytes([good[40] ^ 1]) + good[41:]):
        api.override_small[(FOLDER, "env.bin")] = data
        with pytest.raises(azaion.IntegrityError) as info:
            client.load_big_small_resource("env.bin", FOLDER)
        messages.add(str(info.value))
    assert len(messages) == 1
