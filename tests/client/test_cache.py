"""The cache of big parts: atomic, locked, shared safely by concurrent loaders."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import azaion
from tests.client.conftest import EMAIL, PASSWORD

ROOT = Path(__file__).resolve().parents[2]

LOADER = """
import hashlib, logging, sys, azaion
logging.basicConfig(level=logging.INFO, format="%(message)s")
with azaion.ApiClient(sys.argv[1]) as c:
    c.set_credentials_from_dict(sys.argv[2], sys.argv[3])
    data = c.load_big_small_resource("shared.bin", "models")
print(hashlib.sha256(data).hexdigest())
"""


def test_concurrent_loaders_with_an_empty_cache_get_identical_bytes(
    client, api, api_url, tmp_path, monkeypatch
):
    data = os.urandom(3 * (1 << 20) + 11)
    client.upload_big_small_resource(data, "shared.bin", "models")
    cache = tmp_path / "shared-cache"
    env = dict(os.environ, AZAION_CACHE_DIR=str(cache))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOADER, api_url, EMAIL, PASSWORD],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    digests, downloads = [], 0
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        digests.append(out.strip())
        downloads += err.count(f"downloading the big part {api.big_key('models', 'shared.bin')}")
    assert set(digests) == {hashlib.sha256(data).hexdigest()}
    assert downloads == 1
    files = [p for p in cache.rglob("*") if p.is_file() and ".locks" not in p.parts]
    assert [p.name for p in files] == ["shared.bin.big"]


def test_unwritable_cache_raises_cache_error_and_leaves_nothing(api, api_url, client, tmp_path, monkeypatch):
    if os.geteuid() == 0:
        # root writes anywhere: fill the cache's place with a file so it cannot be a directory.
        blocked = tmp_path / "blocked"
        blocked.write_text("not a directory")
        cache = blocked / "cache"
    else:
        cache = tmp_path / "ro"
        cache.mkdir()
        cache.chmod(0o500)
    client.upload_big_small_resource(os.urandom(5000), "c.bin", "models")
    monkeypatch.setenv("AZAION_CACHE_DIR", str(cache))
    with azaion.ApiClient(api_url) as other:
        other.set_credentials_from_dict(EMAIL, PASSWORD)
        with pytest.raises(azaion.CacheError) as info:
            other.load_big_small_resource("c.bin", "models")
    assert "AZAION_CACHE_DIR" in str(info.value)


def test_no_partial_file_is_left_after_a_failed_download(client, api, tmp_path):
    client.upload_big_small_resource(os.urandom(2 * (1 << 20)), "p.bin", "models")
    s3 = api.s3.client()
    big = s3.get_object(Bucket=api.bucket, Key=api.big_key("models", "p.bin"))["Body"].read()
    s3.put_object(Bucket=api.bucket, Key=api.big_key("models", "p.bin"), Body=big[: len(big) // 2])
    (tmp_path / "cache" / "models" / "p.bin.big").unlink()
    with pytest.raises(azaion.IntegrityError):
        client.load_big_small_resource("p.bin", "models")
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and ".locks" not in p.parts]
    assert leftovers == []
