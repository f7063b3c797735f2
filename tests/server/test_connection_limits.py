"""Connection limits of `azaion-server`: half-open connections, slow bodies, idle keep-alive, a cap.

uvicorn has no deadline for a request's head (a slow-loris holds a connection for ever) and its
`limit_concurrency` answers 503 to everyone once that many sockets are open, half-open ones
included; `azaion_server.connection_limits` adds both as a protocol around uvicorn's own.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import free_port
from tests.server.live import serve

HALF_OPEN = 1000
HEADER_TIMEOUT = 3


@pytest.fixture(autouse=True)
def _enough_file_descriptors() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * HALF_OPEN
    if soft < wanted:
        assert hard == resource.RLIM_INFINITY or hard >= wanted, f"RLIMIT_NOFILE hard limit {hard} < {wanted}"
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@contextlib.contextmanager
def azaion_server(tmp_path, **settings: str) -> Iterator[str]:
    """The real `azaion-server` command in a child process, with AZAION_* settings."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AZAION_JWT_SECRET": "j" * 40,
        "AZAION_CLIENT_KEY_SECRET": "k" * 40,
        "AZAION_DATA_DIR": str(tmp_path / "data"),
        "AZAION_LOG_LEVEL": "WARNING",
        **{f"AZAION_{name.upper()}": value for name, value in settings.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "azaion_server", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _connect(port: int, first_bytes: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if first_bytes:
        sock.sendall(first_bytes)
    sock.setblocking(False)
    return sock


def _is_closed(sock: socket.socket) -> bool:
    """True when the peer closed (EOF or reset); False while it is open and silent."""
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _wait_closed(sockets: list[socket.socket], seconds: float) -> list[socket.socket]:
    """The sockets still open after waiting up to `seconds` for the server to close them all."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    still_open = set(sockets)
    deadline = time.monotonic() + seconds
    while still_open and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if _is_closed(sock):
                selector.unregister(sock)
                still_open.discard(sock)
    selector.close()
    return list(still_open)


PARTIAL_HEADS = [
    b"",  # connected, nothing sent
    b"GE",  # half a request line
    b"GET /health HTTP/1.1\r\n",  # a request line, no headers
    b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ",  # stalled inside a header
]


def test_half_open_connections_do_not_stall_health_and_are_closed(tmp_path) -> None:
    with azaion_server(tmp_path, header_timeout_seconds=str(HEADER_TIMEOUT), max_connections="4000") as url:
        port = int(url.rsplit(":", 1)[1])
        opened = time.monotonic()
        half_open = [_connect(port, PARTIAL_HEADS[i % len(PARTIAL_HEADS)]) for i in range(HALF_OPEN)]
        try:
            with httpx.Client(base_url=url, timeout=10) as http:
                for _ in range(5):
                    started = time.perf_counter()
                    assert http.get("/health").status_code == 200
                    assert time.perf_counter() - started < 1.0
            probed = time.monotonic()
            if probed - opened < HEADER_TIMEOUT - 0.5:  # /health answered while they were all open
                assert not [s for s in half_open[:50] if _is_closed(s)]
            # A slow-loris that keeps sending never completes its head: closed all the same.
            loris = _connect(port, b"GET /health HTTP/1.1\r\n")
            trickle_until = time.monotonic() + HEADER_TIMEOUT + 2
            while time.monotonic() < trickle_until and not _is_closed(loris):
                with contextlib.suppress(OSError):
                    loris.send(b"X")
                time.sleep(0.3)
            assert time.monotonic() < trickle_until, "the slow-loris was never closed"
            assert _wait_closed(half_open, HEADER_TIMEOUT + 20) == []
            assert time.monotonic() - opened >= HEADER_TIMEOUT - 0.5  # closed by the timeout, not at once
            assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        finally:
            for sock in half_open:
                sock.close()


def _limited_server(make_settings, **limits: float):
    from azaion_server.app import create_app
    from azaion_server.connection_limits import uvicorn_options

    settings = make_settings(**limits)
    return serve(create_app(settings), **uvicorn_options(settings.server))


def test_at_the_cap_the_oldest_waiting_connection_makes_room(make_settings, clean_db) -> None:
    with _limited_server(make_settings, max_connections=50, header_timeout_seconds=60) as (url, _server):
        port = int(url.rsplit(":", 1)[1])
        waiting = [_connect(port, b"GET /health HTTP/1.1\r\n") for _ in range(200)]
        try:
            with httpx.Client(base_url=url, timeout=10) as http:
                for _ in range(3):
                    started = time.perf_counter()
                    assert http.get("/health").status_code == 200
                    assert time.perf_counter() - started < 1.0
            time.sleep(0.5)
            still_open = [s for s in waiting if not _is_closed(s)]
            assert len(still_open) < 50  # the rest were closed to make room, oldest first
            assert all(not _is_closed(s) for s in waiting[-20:])
        finally:
            for sock in waiting:
                sock.close()


def test_a_stalled_body_is_closed_after_the_body_timeout(make_settings, clean_db) -> None:
    with _limited_server(make_settings, body_timeout_seconds=1) as (url, _server):
        port = int(url.rsplit(":", 1)[1])
        head = (
            b"POST /login HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        sock = _connect(port, head + b'{"email": ')
        try:
            started = time.monotonic()
            assert _wait_closed([sock], 10) == []
            assert time.monotonic() - started >= 0.8
        finally:
            sock.close()


def test_an_idle_keep_alive_connection_is_closed(make_settings, clean_db) -> None:
    with _limited_server(make_settings, keep_alive_seconds=1) as (url, _server):
        port = int(url.rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            sock.setblocking(False)
            started = time.monotonic()
            assert _wait_closed([sock], 10) == []
            assert time.monotonic() - started < 5
        finally:
            sock.close()


def test_an_endless_head_is_refused(make_settings, clean_db) -> None:
    with _limited_server(make_settings, max_header_bytes=4096) as (url, _server):
        port = int(url.rsplit(":", 1)[1])
        sock = _connect(port, b"GET /health HTTP/1.1\r\nHost: x\r\n")
        try:
            with contextlib.suppress(OSError):
                for _ in range(100):
                    sock.send(b"X-Filler: " + b"f" * 1000 + b"\r\n")
            assert _wait_closed([sock], 5) == []
        finally:
            sock.close()


def test_uvicorn_gets_the_settings(make_settings) -> None:
    from azaion_server.connection_limits import uvicorn_options

    options = uvicorn_options(make_settings(keep_alive_seconds=7, max_header_bytes=9000).server)
    assert options["timeout_keep_alive"] == 7
    assert options["h11_max_incomplete_event_size"] == 9000
    assert options["limit_concurrency"] is None  # it would answer 503 to /health under a flood
