"""Faults on the wire and on the disk: the right bytes or a clear error, and a clean cache."""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import azaion
from tests.client.conftest import EMAIL, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "models"


def cache_entries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and ".locks" not in p.parts)


@pytest.mark.parametrize("mode", ["short", "reset"])
def test_small_part_answer_cut_mid_body(client, api, mode):
    client.upload_big_small_resource(os.urandom(50_000), "cut.bin", FOLDER)
    api.breaks.append(("get", mode))
    try:
        data = client.load_big_small_resource("cut.bin", FOLDER)
    except azaion.NetworkError as e:
        assert e.code == "NETWORK_ERROR"
    else:
        assert hashlib.sha256(data).digest()  # a retry got the whole answer
    # The next load, with a healthy connection, works.
    assert len(client.load_big_small_resource("cut.bin", FOLDER)) == 50_000


@pytest.mark.parametrize("mode", ["short", "reset"])
def test_login_answer_cut_mid_body(api, api_url, mode):
    api.breaks.append(("login", mode))
    with azaion.ApiClient(api_url) as c:
        try:
            c.set_credentials_from_dict(EMAIL, PASSWORD)
        except azaion.NetworkError:
            c.set_credentials_from_dict(EMAIL, PASSWORD)
        assert c.is_authenticated()


LOADER = """
import hashlib, logging, sys, azaion
logging.basicConfig(level=logging.INFO, format="%(message)s")
with azaion.ApiClient(sys.argv[1]) as c:
    c.set_credentials_from_dict(sys.argv[2], sys.argv[3])
    data = c.load_big_small_resource(sys.argv[4], "models")
print(hashlib.sha256(data).hexdigest())
"""


def loader(api_url: str, name: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", LOADER, api_url, EMAIL, PASSWORD, name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_eight_processes_with_an_empty_cache_download_once(client, api, api_url, tmp_path):
    data = os.urandom(4 * (1 << 20) + 3)
    client.upload_big_small_resource(data, "eight.bin", FOLDER)
    env = dict(os.environ, AZAION_CACHE_DIR=str(tmp_path / "shared"))
    procs = [loader(api_url, "eight.bin", env) for _ in range(8)]
    results = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    assert {out.strip() for out, _ in results} == {hashlib.sha256(data).hexdigest()}
    assert sum(err.count("downloading the big part") for _, err in results) == 1
    assert [p.name for p in cache_entries(tmp_path / "shared")] == ["eight.bin.big"]


def test_kill_9_mid_download_resumes_and_never_shows_a_partial_file(client, api, api_url, tmp_path, caplog):
    data = os.urandom(48 * (1 << 20))
    client.upload_big_small_resource(data, "killed.bin", FOLDER)
    cache = tmp_path / "victim-cache"
    env = dict(os.environ, AZAION_CACHE_DIR=str(cache))
    final = cache / FOLDER / "killed.bin.big"
    caught = False
    for _ in range(3):  # the download must be caught in the act; retry if it was too quick
        proc = loader(api_url, "killed.bin", env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            partial = (
                list((cache / FOLDER).glob("killed.bin.big.*.partial")) if (cache / FOLDER).exists() else []
            )
            if partial and partial[0].stat().st_size > 3 * (1 << 20):
                break
            time.sleep(0.002)
        caught = proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        if caught:
            break
        final.unlink(missing_ok=True)
    assert caught, "the download finished before it could be interrupted"
    assert not final.exists()  # only complete, verified files ever appear at the final path
    caplog.set_level(logging.INFO, logger="azaion")
    with azaion.ApiClient(api_url, cache_dir=str(cache)) as c:
        c.set_credentials_from_dict(EMAIL, PASSWORD)
        assert c.load_big_small_resource("killed.bin", FOLDER) == data
    resumed = [r.getMessage() for r in caplog.records if "resuming the big part" in r.getMessage()]
    assert resumed and int(resumed[0].split(" at byte ")[1].split()[0]) >= 1 << 20
    assert final.exists() and not list((cache / FOLDER).glob("*.partial"))


def partial_of(tmp_path, api, name: str) -> Path:
    version = api.resources[(FOLDER, name)][10:26].hex()
    return tmp_path / "cache" / FOLDER / f"{name}.big.{version}.partial"


def test_a_damaged_partial_download_is_discarded_and_fetched_whole(client, api, tmp_path, caplog):
    data = os.urandom(5 * (1 << 20))
    client.upload_big_small_resource(data, "damaged.bin", FOLDER)
    final = tmp_path / "cache" / FOLDER / "damaged.bin.big"
    big = final.read_bytes()
    final.unlink()
    damaged = bytearray(big[: 3 * (1 << 20)])
    damaged[100] ^= 1
    partial_of(tmp_path, api, "damaged.bin").write_bytes(bytes(damaged))
    caplog.set_level(logging.INFO, logger="azaion")
    assert client.load_big_small_resource("damaged.bin", FOLDER) == data
    assert any("does not verify; starting over" in r.getMessage() for r in caplog.records)
    assert final.read_bytes() == big


def test_a_good_partial_download_is_completed_from_where_it_stopped(client, api, tmp_path, caplog):
    data = os.urandom(5 * (1 << 20) + 77)
    client.upload_big_small_resource(data, "half.bin", FOLDER)
    final = tmp_path / "cache" / FOLDER / "half.bin.big"
    big = final.read_bytes()
    final.unlink()
    partial_of(tmp_path, api, "half.bin").write_bytes(big[: 2 * (1 << 20) + 12345])  # ends mid-segment
    stale = tmp_path / "cache" / FOLDER / ("half.bin.big." + "0" * 32 + ".partial")
    stale.write_bytes(b"an older version's leftovers")
    caplog.set_level(logging.INFO, logger="azaion")
    assert client.load_big_small_resource("half.bin", FOLDER) == data
    resumed = [r.getMessage() for r in caplog.records if "resuming the big part" in r.getMessage()]
    offset = int(resumed[0].split(" at byte ")[1].split()[0])
    assert 0 < offset <= 2 * (1 << 20) + 12345
    assert final.read_bytes() == big and not stale.exists()


def test_a_complete_partial_needs_no_download(client, api, tmp_path, caplog):
    data = os.urandom(3 * (1 << 20))
    client.upload_big_small_resource(data, "whole.bin", FOLDER)
    final = tmp_path / "cache" / FOLDER / "whole.bin.big"
    partial_of(tmp_path, api, "whole.bin").write_bytes(final.read_bytes())
    final.unlink()
    caplog.set_level(logging.INFO, logger="azaion")
    assert client.load_big_small_resource("whole.bin", FOLDER) == data
    assert not [
        r for r in caplog.records if "from the CDN" in r.getMessage() and "big part" in r.getMessage()
    ]


DISK_FULL = """
import resource, signal, sys, azaion
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
with azaion.ApiClient(sys.argv[1]) as c:
    c.set_credentials_from_dict(sys.argv[2], sys.argv[3])
    try:
        c.load_big_small_resource("full.bin", "models")
    except azaion.CacheError as e:
        print("CacheError", e)
        sys.exit(3)
print("loaded")
"""


def test_disk_full_while_caching_is_a_clear_error_with_nothing_at_the_final_path(
    client, api, api_url, tmp_path
):
    client.upload_big_small_resource(os.urandom(2 * (1 << 20)), "full.bin", FOLDER)
    cache = tmp_path / "full-cache"
    env = dict(os.environ, AZAION_CACHE_DIR=str(cache))
    done = subprocess.run(
        [sys.executable, "-c", DISK_FULL, api_url, EMAIL, PASSWORD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "AZAION_CACHE_DIR" in done.stdout
    assert cache_entries(cache) == []
