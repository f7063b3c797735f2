"""`azaion-server --workers 2`: a live server of two worker processes behaves as one process.

The server runs as `python -m azaion_server --workers 2` on the test database (PostgreSQL under
build_tools/with_postgres.sh, else SQLite). Every request below goes on a connection of its own,
so the kernel hands them to both workers; the test checks that both served (their metric files
carry their process ids) and that what one worker changed holds on the other: tokens, logout,
licences, throttling, the cap on streams, events, and metrics summed over the workers.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.server.conftest import FAST_SETTINGS
from tests.server.events.conftest import Stream
from tests.server.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, Api, assert_error

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 40


@dataclass
class Workers:
    url: str
    metrics_dir: Path
    http: httpx.Client
    api: Api
    server_pid: int

    def pids_that_served(self) -> set[int]:
        """Processes that wrote request counts (prometheus_client names its files by pid)."""
        found = set()
        for path in self.metrics_dir.glob("counter_*.db"):
            match = re.fullmatch(r"counter_(\d+)\.db", path.name)
            if match:
                found.add(int(match.group(1)))
        return found


@pytest.fixture
def workers(database_url: str, clean_db, tmp_path: Path) -> Iterator[Workers]:
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZAION_")}
    env.update(
        {
            "AZAION_DATABASE_URL": database_url,
            "AZAION_DATA_DIR": str(tmp_path / "data"),
            "AZAION_JWT_SECRET": FAST_SETTINGS["jwt_secret"],
            "AZAION_CLIENT_KEY_SECRET": FAST_SETTINGS["client_key_secret"],
            "AZAION_ADMIN_EMAIL": ADMIN_EMAIL,
            "AZAION_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "AZAION_ARGON2_TIME_COST": "1",
            "AZAION_ARGON2_MEMORY_KIB": "8",
            "AZAION_ARGON2_PARALLELISM": "1",
            "AZAION_LOGIN_MAX_ATTEMPTS": "5",
            "AZAION_SSE_MAX_STREAMS_PER_USER": "2",
            # PostgreSQL: only NOTIFY can bring an event within the test's 2 s; SQLite: heartbeats.
            "AZAION_SSE_PING_SECONDS": "60" if database_url.startswith("postgresql") else "0.5",
            "AZAION_METRICS": "true",
            # These tests download through the seed's envelope (tests.server.helpers.Api).
            "AZAION_LEGACY_ENVELOPE": "true",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "AZAION_LOG_LEVEL": "WARNING",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "azaion_server", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    # No keep-alive: every request is a new connection, which either worker may accept.
    http = httpx.Client(base_url=url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if http.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        yield Workers(url, metrics_dir, http, Api(http), process.pid)
    finally:
        http.close()
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when shutdown hangs
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def test_both_workers_serve_and_share_tokens_licences_and_logout(workers: Workers) -> None:
    api = workers.api
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    api.upload("models", "m.bin", b"model bytes")
    for _ in range(REQUESTS):
        assert api.get(operator, "models", "m.bin").status_code == 200
    assert len(workers.pids_that_served()) == 2, "one worker served everything"
    # A licence change through one worker holds on both at once.
    api.set_license(operator, ["other"])
    for _ in range(REQUESTS // 4):
        assert_error(api.get(operator, "models", "m.bin"), 403, "FOLDER_NOT_LICENSED")
    # So does a logout.
    assert workers.http.post("/logout", headers=operator.headers).status_code == 200
    for _ in range(REQUESTS // 4):
        assert_error(workers.http.get("/license/info", headers=operator.headers), 401, "UNAUTHORIZED")


def test_throttling_counts_over_both_workers(workers: Workers) -> None:
    api = workers.api
    person = api.user("Operator")
    for _ in range(5):
        answer = workers.http.post("/login", json={"email": person.email, "password": "wrong-password"})
        assert_error(answer, 401, "INVALID_CREDENTIALS")
    for _ in range(4):  # whichever worker takes it: the sixth attempt and after are refused
        answer = workers.http.post("/login", json={"email": person.email, "password": person.password})
        assert_error(answer, 429, "TOO_MANY_ATTEMPTS")


def test_stream_cap_and_events_hold_across_workers(workers: Workers) -> None:
    api = workers.api
    with Stream(workers.url, api.admin) as first, Stream(workers.url, api.admin) as second:
        assert first.status == 200 and second.status == 200
        third = Stream(workers.url, api.admin)
        assert third.status == 429 and "TOO_MANY_STREAMS" in third.body
        for i in range(4):  # uploads on fresh connections: either worker records them
            started = time.monotonic()
            assert api.upload("models", f"e{i}.bin", b"x").status_code == 201
            for stream in (first, second):
                event = stream.next(timeout=5)
                assert event["data"]["resource"]["name"] == f"e{i}.bin"
            assert time.monotonic() - started < 4


def _sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_sum_over_both_workers(workers: Workers) -> None:
    for _ in range(REQUESTS):
        assert workers.http.get("/health").status_code == 200
    assert len(workers.pids_that_served()) == 2
    for _ in range(4):  # every worker answers with the sum of both
        text = workers.http.get("/metrics").text
        served = _sample(text, "azaion_http_requests_total", route="/health", status="200")
        assert served >= REQUESTS
    # A raw socket, so that closing it sends a FIN at once (a reader thread blocked in recv on
    # an httpx stream would hold the socket open until the next heartbeat).
    host, port = workers.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        token = workers.api.admin_token
        sock.sendall(
            f"GET /events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        )
        received = b""
        while b": connected" not in received:
            chunk = sock.recv(4096)
            assert chunk, "the stream ended"
            received += chunk
        assert b" 200 " in received.split(b"\r\n", 1)[0]
        assert _sample(workers.http.get("/metrics").text, "azaion_event_streams_active") == 1
        sock.shutdown(socket.SHUT_RDWR)
    deadline = time.monotonic() + 10
    while _sample(workers.http.get("/metrics").text, "azaion_event_streams_active") != 0:
        assert time.monotonic() < deadline, "the closed stream is still counted"
        time.sleep(0.1)


def test_workers_are_processes(workers: Workers) -> None:
    # `python -m azaion_server --workers 2` is the parent; uvicorn's workers are its children.
    # (Read from /proc, not `ps`: `ps` cuts its lines to $COLUMNS when its output is a pipe.)
    server_pid = workers.server_pid
    assert "--workers" in Path(f"/proc/{server_pid}/cmdline").read_bytes().decode().split("\0")
    assert len(_children(server_pid)) >= 2
