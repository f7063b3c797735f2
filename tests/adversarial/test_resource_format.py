"""The resource format under attack: every mutation raises IntegrityError, never wrong bytes.

Ciphertexts are crafted with the reference implementation (tests/reference), with 4 KiB
segments so that a few KiB hold many segments, and loaded through the compiled client's public
API: small part from the scripted API, big part from the cache and the S3 emulator.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import azaion
from tests.adversarial.conftest import FOLDER, SEGMENT, SHARED_KEY, craft
from tests.reference import resource as reference

HEADER = reference.HEADER_LEN
STEP = SEGMENT + reference.TAG_LEN
PLAINTEXT = os.urandom(4 * SEGMENT + 1000)  # five segments, the last partial


def must_refuse(client, serve, ciphertext: bytes, name: str = "victim.bin") -> None:
    serve(ciphertext, name)
    with pytest.raises(azaion.IntegrityError) as info:
        client.load_big_small_resource(name, FOLDER)
    assert info.value.code == "INTEGRITY"


@pytest.fixture(scope="module")
def original() -> bytes:
    return craft(PLAINTEXT, "victim.bin")


def test_the_unmodified_crafted_resource_loads(client, serve, original):
    serve(original, "victim.bin")
    assert client.load_big_small_resource("victim.bin", FOLDER) == PLAINTEXT


@pytest.mark.parametrize("segments", range(1, 5))
def test_truncation_at_every_segment_boundary(client, serve, original, segments):
    must_refuse(client, serve, original[: HEADER + segments * STEP])


@pytest.mark.parametrize(
    "cut",
    [HEADER, HEADER + 1, HEADER + 15, HEADER + 16, HEADER + STEP - 1, HEADER + STEP + 17, -1, -15, -16, -17],
)
def test_truncation_at_sampled_offsets(client, serve, original, cut):
    must_refuse(client, serve, original[:cut])


@pytest.mark.parametrize("extra", [b"\x00", os.urandom(STEP)])
def test_appended_byte_or_segment(client, serve, original, extra):
    must_refuse(client, serve, original + extra)


def test_appending_a_copy_of_the_last_segment(client, serve, original):
    last = original[HEADER + 4 * STEP :]
    must_refuse(client, serve, original + last)


def segments_of(ciphertext: bytes) -> list[bytes]:
    body = ciphertext[HEADER:]
    return [body[i : i + STEP] for i in range(0, len(body), STEP)]


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda s: s[:1] + s[2:], id="delete-second"),
        pytest.param(lambda s: s[:2] + [s[1]] + s[2:], id="duplicate-second"),
        pytest.param(lambda s: [s[1], s[0]] + s[2:], id="swap-first-two"),
        pytest.param(lambda s: s[:2] + [s[3], s[2]] + s[4:], id="swap-middle"),
        pytest.param(lambda s: s[:-2] + [s[-1]], id="delete-penultimate"),
    ],
)
def test_deleted_duplicated_and_swapped_segments(client, serve, original, edit):
    must_refuse(client, serve, original[:HEADER] + b"".join(edit(segments_of(original))))


@pytest.mark.parametrize("offset", range(HEADER))
def test_one_bit_flipped_at_every_header_offset(client, serve, original, offset):
    flipped = bytearray(original)
    flipped[offset] ^= 1 << (offset % 8)
    must_refuse(client, serve, bytes(flipped))


@pytest.mark.parametrize(
    "offset",
    sorted(
        {
            HEADER,
            HEADER + 1,
            HEADER + SEGMENT - 1,
            HEADER + SEGMENT,
            HEADER + SEGMENT + 15,
            HEADER + STEP,
            3000,
            9000,
            15000,
            17000,
        }
    ),
)
def test_one_bit_flipped_in_the_body(client, serve, original, offset):
    flipped = bytearray(original)
    flipped[offset] ^= 0x80
    must_refuse(client, serve, bytes(flipped))


def test_segment_from_another_resource_is_refused(client, serve, original):
    other = craft(PLAINTEXT, "victim.bin")
    spliced = (
        original[: HEADER + STEP] + other[HEADER + STEP : HEADER + 2 * STEP] + original[HEADER + 2 * STEP :]
    )
    must_refuse(client, serve, spliced)


def test_same_bytes_under_another_name_or_folder(client, serve, original):
    must_refuse(client, serve, original, name="renamed.bin")
    serve(original, "victim.bin", folder="other")
    with pytest.raises(azaion.IntegrityError):
        client.load_big_small_resource("victim.bin", "other")


def test_small_part_of_version_2_with_cached_big_part_of_version_1(client, serve, api, original, tmp_path):
    serve(original, "spliced.bin")  # version 1: cache and CDN
    v2_plain = os.urandom(len(PLAINTEXT))
    v2 = craft(v2_plain, "spliced.bin")
    small_v2, big_v2 = reference.split(v2)
    api.resources[(FOLDER, "spliced.bin")] = small_v2  # the API moved on; the cache did not
    api.s3.client().put_object(Bucket=api.bucket, Key=api.big_key(FOLDER, "spliced.bin"), Body=big_v2)
    assert client.load_big_small_resource("spliced.bin", FOLDER) == v2_plain
    assert (tmp_path / "cache" / FOLDER / "spliced.bin.big").read_bytes() == big_v2


def test_splice_with_no_good_big_part_anywhere_is_refused(client, serve, api, original):
    serve(original, "spliced.bin")
    v2 = craft(PLAINTEXT, "spliced.bin")
    small_v2, _ = reference.split(v2)
    # The CDN object under version 2's key holds version 1's big part.
    api.resources[(FOLDER, "spliced.bin")] = small_v2
    api.s3.client().put_object(
        Bucket=api.bucket, Key=api.big_key(FOLDER, "spliced.bin"), Body=reference.split(original)[1]
    )
    with pytest.raises(azaion.IntegrityError):
        client.load_big_small_resource("spliced.bin", FOLDER)


def header_with(
    original: bytes,
    *,
    version: int = 1,
    algorithm: int = 1,
    segment_size: int = SEGMENT,
    key_id: int | None = None,
) -> bytes:
    """A header whose fields are changed and whose commitment is recomputed, as only the holder
    of the resource key could: what the client must refuse is the field, not the MAC."""
    resource_key = reference.aes_key_unwrap(SHARED_KEY, original[49:89])
    _, commit_key = reference.keys(resource_key, original[10:42], FOLDER, "victim.bin")
    key_id = original[6] if key_id is None else key_id
    head = (
        original[:4] + bytes([version, algorithm, key_id]) + segment_size.to_bytes(3, "big") + original[10:89]
    )
    return head + hmac.new(commit_key, head, hashlib.sha256).digest()


@pytest.mark.parametrize(
    "fields",
    [
        {"version": 2},
        {"version": 0},
        {"algorithm": 2},
        {"algorithm": 0},
        {"segment_size": 1000},
        {"segment_size": 1 << 23},
        {"segment_size": (1 << 24) - 1},
        {"key_id": 0},
        {"key_id": reference.key_id(SHARED_KEY) % 255 + 1},
        {"segment_size": 3 * 4096},
        {"segment_size": 2 * SEGMENT},
    ],
)
def test_unknown_version_algorithm_or_segment_size(client, serve, original, fields):
    must_refuse(client, serve, header_with(original, **fields) + original[HEADER:])


def test_wrong_shared_key_is_the_same_error(client, serve):
    forged = reference.encrypt(
        PLAINTEXT,
        shared_key=os.urandom(32),
        folder=FOLDER,
        name="victim.bin",
        resource_key=os.urandom(32),
        salt=os.urandom(32),
        nonce_prefix=os.urandom(7),
        segment_size=SEGMENT,
    )
    must_refuse(client, serve, forged)


def test_tampered_cache_is_evicted_and_fetched_once(client, serve, original, tmp_path, caplog):
    serve(original, "victim.bin")
    path = tmp_path / "cache" / FOLDER / "victim.bin.big"
    damaged = bytearray(path.read_bytes())
    damaged[5000] ^= 1
    path.write_bytes(bytes(damaged))
    caplog.set_level(logging.INFO, logger="azaion")
    assert client.load_big_small_resource("victim.bin", FOLDER) == PLAINTEXT
    downloads = [r for r in caplog.records if "downloading the big part" in r.getMessage()]
    assert len(downloads) == 1
    assert path.read_bytes() == reference.split(original)[1]


def test_two_uploads_of_the_same_bytes_differ(client, api):
    client.upload_big_small_resource(PLAINTEXT, "twice.bin", FOLDER)
    first = api.resources[(FOLDER, "twice.bin")]
    client.upload_big_small_resource(PLAINTEXT, "twice.bin", FOLDER)
    second = api.resources[(FOLDER, "twice.bin")]
    assert first[:HEADER] != second[:HEADER] and first[HEADER:] != second[HEADER:]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    size=st.one_of(
        st.integers(0, 300),
        st.integers(0, 3 * (1 << 20) + 100),
        st.sampled_from([1 << 20, (1 << 20) - 1, (1 << 20) + 1, 2 << 20]),
    )
)
def test_round_trips_through_the_client_and_the_reference(client, api, size):
    data = os.urandom(size)
    client.upload_big_small_resource(data, "prop.bin", FOLDER)
    assert client.load_big_small_resource("prop.bin", FOLDER) == data
    small = api.resources[(FOLDER, "prop.bin")]
    big = api.s3.client().get_object(Bucket=api.bucket, Key=api.big_key(FOLDER, "prop.bin"))["Body"].read()
    assert reference.decrypt(small + big, shared_key=SHARED_KEY, folder=FOLDER, name="prop.bin") == data


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(size=st.integers(0, 6 * SEGMENT), segment_exp=st.integers(12, 14))
def test_reference_ciphertexts_of_any_size_and_segment_size_load(client, serve, size, segment_exp):
    data = os.urandom(size)
    serve(craft(data, "any.bin", segment_size=1 << segment_exp), "any.bin", cache=False)
    assert client.load_big_small_resource("any.bin", FOLDER) == data
