"""A CDN answer cut in the middle of its body is a network fault, never a cache fault.

A TCP proxy on loopback sits between the client and the S3 emulator and, on cue, closes the
connection after a number of bytes of an answer.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import azaion
from tests.client.conftest import EMAIL, PASSWORD, cdn_yaml_for

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "models"
NAME = "cut.bin"


class CuttingProxy:
    """Forwards TCP to `upstream`; once armed, cuts the first answer stream past `cut_after` bytes."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.cut_after: int | None = None
        self.cuts = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            threading.Thread(target=self.pump, args=(downstream, upstream, False), daemon=True).start()
            threading.Thread(target=self.pump, args=(upstream, downstream, True), daemon=True).start()

    def pump(self, source: socket.socket, target: socket.socket, answers: bool) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                with self.lock:
                    limit = self.cut_after if answers else None
                    if limit is not None and sent + len(data) > limit:
                        target.sendall(data[: limit - sent])
                        self.cut_after = None
                        self.cuts += 1
                        break
                target.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxied(client, api, s3_endpoint, s3_bucket):
    """NAME published (3 MiB) and not in the loader's cache; cdn.yaml now points at the proxy."""
    data = os.urandom(3 * (1 << 20) + 5)
    client.upload_big_small_resource(data, NAME, FOLDER)
    host, port = s3_endpoint.url.removeprefix("http://").split(":")
    proxy = CuttingProxy((host, int(port)))
    api.cdn_yaml = cdn_yaml_for(type(s3_endpoint)(url=f"http://127.0.0.1:{proxy.port}"), s3_bucket)
    yield proxy, data
    proxy.close()


def test_a_cut_cdn_stream_is_a_cdn_error_and_the_next_load_resumes(proxied, api_url, tmp_path):
    proxy, data = proxied
    cache = tmp_path / "loader-cache"
    proxy.cut_after = 1 << 20
    with azaion.ApiClient(api_url, cache_dir=str(cache)) as loader:
        loader.set_credentials_from_dict(EMAIL, PASSWORD)
        with pytest.raises((azaion.CDNError, azaion.NetworkError)) as info:
            loader.load_big_small_resource(NAME, FOLDER)
        assert not isinstance(info.value, azaion.CacheError)
        assert "free some space" not in str(info.value) and "AZAION_CACHE_DIR" not in str(info.value)
        assert proxy.cuts == 1
        [partial] = (cache / FOLDER).glob("*.partial")  # what arrived is kept for the next load
        assert 0 < partial.stat().st_size < len(data)
        assert loader.load_big_small_resource(NAME, FOLDER) == data
    assert not list((cache / FOLDER).glob("*.partial"))


def test_the_cli_exits_7_on_a_cut_cdn_stream(proxied, api_url, tmp_path):
    proxy, _ = proxied
    proxy.cut_after = 1 << 20
    env = dict(
        os.environ,
        AZAION_API_URL=api_url,
        AZAION_EMAIL=EMAIL,
        AZAION_PASSWORD=PASSWORD,
        AZAION_CACHE_DIR=str(tmp_path / "cli-cache"),
        AZAION_CONFIG=str(tmp_path / "config.ini"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "azaion", "pull", NAME, "--folder", FOLDER, "-o", "-"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    stderr = done.stderr.decode()
    assert done.returncode == 7, stderr
    assert "CDN" in stderr and "free some space" not in stderr
    assert proxy.cuts == 1
