"""The seed's flows end to end through the compiled client: scripted API + S3 emulator."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import azaion
from tests.client.conftest import EMAIL, PASSWORD
from tests.reference import resource as reference

SEGMENT = 1 << 20


def cache_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and ".locks" not in p.parts)


@pytest.mark.parametrize(
    "size",
    [0, 1, 2, 121, 4095, 1000003, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 777],
)
def test_upload_then_load_round_trips(client, api, size):
    data = os.urandom(size)
    client.upload_big_small_resource(data, f"model-{size}.bin", "models")
    assert client.load_big_small_resource(f"model-{size}.bin", "models") == data


def test_split_puts_the_header_in_the_small_part_and_the_rest_on_the_cdn(client, api):
    data = os.urandom(200_000)
    client.upload_big_small_resource(data, "m.onnx", "models")
    small = api.resources[("models", "m.onnx")]
    big = api.s3.client().get_object(Bucket=api.bucket, Key=api.big_key("models", "m.onnx"))["Body"].read()
    total = len(small) + len(big)
    assert len(small) == max(121, min(3 * 1024, total * 3 // 10))
    assert small[:4] == b"AZRS"
    # The reference implementation, written from docs/formats.md, opens what the client wrote.
    key = reference.TEST_WRAPPING_KEY
    assert reference.decrypt(small + big, shared_key=key, folder="models", name="m.onnx") == data
    with pytest.raises(reference.ResourceError):
        reference.decrypt(small + big, shared_key=key, folder="models", name="other.onnx")


def test_two_uploads_of_the_same_bytes_differ(client, api):
    data = b"same model bytes" * 100
    client.upload_big_small_resource(data, "a.bin", "models")
    first = api.resources[("models", "a.bin")]
    client.upload_big_small_resource(data, "a.bin", "models")
    assert api.resources[("models", "a.bin")] != first


def test_warm_cache_needs_no_cdn(client, api):
    data = os.urandom(300_000)
    client.upload_big_small_resource(data, "w.bin", "models")
    api.s3.client().delete_object(Bucket=api.bucket, Key=api.big_key("models", "w.bin"))
    assert client.load_big_small_resource("w.bin", "models") == data


def test_cold_load_downloads_and_caches(api, api_url, client, tmp_path, monkeypatch):
    data = os.urandom(2 * SEGMENT + 5)
    client.upload_big_small_resource(data, "c.bin", "models")
    monkeypatch.setenv("AZAION_CACHE_DIR", str(tmp_path / "other-cache"))
    seen = []
    with azaion.ApiClient(api_url) as other:
        other.set_credentials_from_dict(EMAIL, PASSWORD)
        assert (
            other.load_big_small_resource("c.bin", "models", progress=lambda d, t: seen.append((d, t)))
            == data
        )
        cached = cache_files(tmp_path / "other-cache")
        assert [p.name for p in cached] == ["c.bin.big"]
        big_len = cached[0].stat().st_size
        assert seen[-1] == (big_len, big_len)
        assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
        api.s3.client().delete_object(Bucket=api.bucket, Key=api.big_key("models", "c.bin"))
        assert other.load_big_small_resource("c.bin", "models") == data


def test_stale_cache_is_replaced_after_a_new_version(api, api_url, client, tmp_path, monkeypatch):
    client.upload_big_small_resource(os.urandom(500_000), "v.bin", "models")
    v2 = os.urandom(600_000)
    monkeypatch.setenv("AZAION_CACHE_DIR", str(tmp_path / "publisher-2"))
    with azaion.ApiClient(api_url) as publisher:
        publisher.set_credentials_from_dict(EMAIL, PASSWORD)
        publisher.upload_big_small_resource(v2, "v.bin", "models")
    # The first client still caches version 1's big part: detected, replaced, right bytes.
    assert client.load_big_small_resource("v.bin", "models") == v2
    assert client.load_big_small_resource("v.bin", "models") == v2


def test_corrupted_cache_file_is_evicted_and_fetched_again(client, api, tmp_path):
    data = os.urandom(700_000)
    client.upload_big_small_resource(data, "k.bin", "models")
    path = tmp_path / "cache" / "models" / "k.bin.big"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    assert client.load_big_small_resource("k.bin", "models") == data
    assert hashlib.sha256(path.read_bytes()).digest() != hashlib.sha256(bytes(raw)).digest()


def test_truncated_cache_file_is_fetched_again(client, api, tmp_path):
    data = os.urandom(3 * SEGMENT)
    client.upload_big_small_resource(data, "t.bin", "models")
    path = tmp_path / "cache" / "models" / "t.bin.big"
    with open(path, "r+b") as f:
        f.truncate(SEGMENT)
    assert client.load_big_small_resource("t.bin", "models") == data


def test_tampered_big_part_on_the_cdn_raises_and_leaves_no_file(client, api, tmp_path):
    client.upload_big_small_resource(os.urandom(400_000), "x.bin", "models")
    s3 = api.s3.client()
    big = bytearray(s3.get_object(Bucket=api.bucket, Key=api.big_key("models", "x.bin"))["Body"].read())
    big[1000] ^= 0x80
    s3.put_object(Bucket=api.bucket, Key=api.big_key("models", "x.bin"), Body=bytes(big))
    (tmp_path / "cache" / "models" / "x.bin.big").unlink()
    with pytest.raises(azaion.IntegrityError):
        client.load_big_small_resource("x.bin", "models")
    assert cache_files(tmp_path / "cache") == []


def test_tampered_small_part_raises_integrity(client, api):
    client.upload_big_small_resource(os.urandom(10_000), "s.bin", "models")

    def flip(data: bytes) -> bytes:
        return data[:200] + bytes([data[200] ^ 1]) + data[201:]

    api.tamper_small = flip
    with pytest.raises(azaion.IntegrityError) as info:
        client.load_big_small_resource("s.bin", "models")
    assert info.value.code == "INTEGRITY"


@pytest.mark.parametrize("offset", [0, 1, 20, -1, -33])
def test_tampered_envelope_raises_integrity(client, api, offset):
    client.upload_big_small_resource(os.urandom(10_000), "e.bin", "models")

    def flip(data: bytes) -> bytes:
        i = offset % len(data)
        return data[:i] + bytes([data[i] ^ 0x10]) + data[i + 1 :]

    api.tamper_envelope = flip
    with pytest.raises(azaion.IntegrityError):
        client.load_big_small_resource("e.bin", "models")


def test_truncated_envelope_raises_integrity(client, api):
    client.upload_big_small_resource(os.urandom(10_000), "e.bin", "models")
    api.tamper_envelope = lambda data: data[:-16]
    with pytest.raises(azaion.IntegrityError):
        client.load_big_small_resource("e.bin", "models")


def test_small_part_of_another_resource_is_refused(client, api):
    client.upload_big_small_resource(os.urandom(50_000), "one.bin", "models")
    client.upload_big_small_resource(os.urandom(50_000), "two.bin", "models")
    api.resources[("models", "two.bin")] = api.resources[("models", "one.bin")]
    with pytest.raises(azaion.IntegrityError):
        client.load_big_small_resource("two.bin", "models")


def test_upload_puts_big_part_on_cdn_before_small_part_to_api(client, api):
    client.upload_big_small_resource(os.urandom(10_000), "order.bin", "models")
    head = api.s3.client().head_object(Bucket=api.bucket, Key=api.big_key("models", "order.bin"))
    assert head["ContentLength"] > 0
    assert api.calls["upload"] == 1


def test_cdn_down_during_upload_sends_nothing_to_the_api(api, api_url, monkeypatch):
    from tests.client.conftest import cdn_yaml_for

    api.cdn_yaml = cdn_yaml_for(type(api.s3)(url="http://127.0.0.1:9"), api.bucket)
    api.s3 = type(api.s3)(url="http://127.0.0.1:9")  # the URLs the server signs point there too
    api._big_parts = None
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict(EMAIL, PASSWORD)
        with pytest.raises(azaion.CDNError):
            c.upload_big_small_resource(b"model", "down.bin", "models")
    assert api.calls["upload"] == 0
    assert ("models", "down.bin") not in api.resources


def test_api_refusing_the_small_part_raises(client, api):
    api.fail_next("upload", 413)
    with pytest.raises(azaion.TooLarge):
        client.upload_big_small_resource(b"x" * 100, "big.bin", "models")


def test_missing_resource_raises_not_found(client, api):
    with pytest.raises(azaion.ResourceNotFound) as info:
        client.load_big_small_resource("nothing.bin", "models")
    assert info.value.code == "NOT_FOUND"
    assert isinstance(info.value, LookupError)


def test_missing_big_part_on_the_cdn_raises_not_found(client, api, tmp_path):
    client.upload_big_small_resource(os.urandom(10_000), "gone.bin", "models")
    api.s3.client().delete_object(Bucket=api.bucket, Key=api.big_key("models", "gone.bin"))
    (tmp_path / "cache" / "models" / "gone.bin.big").unlink()
    with pytest.raises(azaion.ResourceNotFound):
        client.load_big_small_resource("gone.bin", "models")


def test_upload_progress_reaches_the_total(client, api):
    seen = []
    client.upload_big_small_resource(
        os.urandom(SEGMENT), "p.bin", "models", progress=lambda d, t: seen.append((d, t))
    )
    assert seen and seen[-1][0] == seen[-1][1] > 0


def test_each_version_is_its_own_object_and_old_ones_are_removed(client, api):
    client.upload_big_small_resource(os.urandom(50_000), "ver.bin", "models")
    first = api.big_key("models", "ver.bin")
    client.upload_big_small_resource(os.urandom(50_000), "ver.bin", "models")
    second = api.big_key("models", "ver.bin")
    client.upload_big_small_resource(os.urandom(50_000), "ver.bin.extra", "models")
    keys = {o["Key"] for o in api.s3.client().list_objects_v2(Bucket=api.bucket)["Contents"]}
    assert first != second and second in keys and first not in keys
    assert api.big_key("models", "ver.bin.extra") in keys


def test_refused_small_part_leaves_no_orphan_and_keeps_the_old_version(client, api):
    client.upload_big_small_resource(b"v1" * 1000, "keep.bin", "models")
    before = {o["Key"] for o in api.s3.client().list_objects_v2(Bucket=api.bucket)["Contents"]}
    api.fail_next("upload", 403, times=2)  # refused again after the one fresh login
    with pytest.raises(azaion.PermissionDenied):
        client.upload_big_small_resource(b"v2" * 1000, "keep.bin", "models")
    after = {o["Key"] for o in api.s3.client().list_objects_v2(Bucket=api.bucket)["Contents"]}
    assert after == before
    assert client.load_big_small_resource("keep.bin", "models") == b"v1" * 1000
