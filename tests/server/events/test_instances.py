"""Several server instances on one PostgreSQL database: events fan out through LISTEN/NOTIFY."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import free_port
from tests.server.conftest import FAST_SETTINGS
from tests.server.events.conftest import Stream
from tests.server.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, Api, bearer

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def postgresql(db_engine) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL (run under build_tools/with_postgres.sh)")


def _start(database_url: str, data_dir: Path, ping: float = 60) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZAION_")}
    env.update(
        {
            "AZAION_DATABASE_URL": database_url,
            "AZAION_DATA_DIR": str(data_dir),
            "AZAION_JWT_SECRET": FAST_SETTINGS["jwt_secret"],
            "AZAION_CLIENT_KEY_SECRET": FAST_SETTINGS["client_key_secret"],
            "AZAION_ADMIN_EMAIL": ADMIN_EMAIL,
            "AZAION_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "AZAION_ARGON2_TIME_COST": "1",
            "AZAION_ARGON2_MEMORY_KIB": "8",
            "AZAION_ARGON2_PARALLELISM": "1",
            # Heartbeats far apart: only a NOTIFY can wake a stream within the test's deadline.
            "AZAION_SSE_PING_SECONDS": str(ping),
            "AZAION_LOG_LEVEL": "WARNING",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "azaion_server", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return process, f"http://127.0.0.1:{port}"


def _wait_healthy(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)


@pytest.fixture
def two_instances(postgresql, database_url, clean_db, tmp_path) -> Iterator[tuple[str, str]]:
    yield from _two(database_url, tmp_path, 60)


def _two(database_url: str, tmp_path: Path, ping: float) -> Iterator[tuple[str, str]]:
    a, url_a = _start(database_url, tmp_path / "a", ping)
    b, url_b = _start(database_url, tmp_path / "b", ping)
    try:
        _wait_healthy(a, url_a)
        _wait_healthy(b, url_b)
        yield url_a, url_b
    finally:
        for process in (a, b):
            process.send_signal(signal.SIGTERM)
        for process in (a, b):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:  # pragma: no cover - only when shutdown hangs
                process.kill()
                process.wait()


def test_an_upload_through_one_instance_reaches_a_stream_on_the_other(two_instances) -> None:
    url_a, url_b = two_instances
    with (
        httpx.Client(base_url=url_a, timeout=10) as http_a,
        httpx.Client(base_url=url_b, timeout=10) as http_b,
    ):
        api_a, api_b = Api(http_a), Api(http_b)
        operator = api_b.user("Operator")
        api_b.set_license(operator, ["models"])
        with Stream(url_a, operator.headers) as on_a, Stream(url_b, api_b.admin) as on_b:
            assert on_a.status == 200 and on_b.status == 200
            started = time.monotonic()
            api_b.upload("models", "fan-out.bin", b"x")
            event = on_a.next(timeout=3)
            assert time.monotonic() - started < 2
            assert event["event"] == "resource.created"
            assert event["data"]["resource"]["name"] == "fan-out.bin"
            assert on_b.next(timeout=3)["id"] == event["id"]  # the same id on both
            # And the other way round, with a token from the other instance.
            api_a.upload("models", "back.bin", b"y", headers=bearer(api_b.admin_token))
            assert on_b.next(timeout=3)["data"]["resource"]["name"] == "back.bin"
            assert on_a.next(timeout=3)["data"]["resource"]["name"] == "back.bin"


def test_on_sqlite_other_processes_events_arrive_by_the_next_heartbeat(
    database_url, db_engine, clean_db, tmp_path
) -> None:
    if db_engine.dialect.name != "sqlite":
        pytest.skip("the SQLite fallback")
    for url_a, url_b in _two(database_url, tmp_path, 0.5):
        with httpx.Client(base_url=url_b, timeout=10) as http_b:
            api_b = Api(http_b)
            with Stream(url_a, api_b.admin) as on_a:
                assert on_a.status == 200
                api_b.upload("models", "polled.bin", b"x")
                assert on_a.next(timeout=3)["data"]["resource"]["name"] == "polled.bin"


def test_the_listener_reconnects(postgresql, make_live, db_engine) -> None:
    from azaion_server.db import make_sessionmaker
    from azaion_server.events.models import record_hardware_reset
    from azaion_server.users.entities import User

    from tests.server.events.conftest import PING

    live = make_live(sse_ping_seconds=60)
    api = live.api
    assert live.context.events._listener is None  # no stream, no listener
    with live.stream(api.admin) as stream, make_sessionmaker(db_engine)() as session:
        listener = live.context.events._listener
        assert listener is not None and listener.listening.wait(5)
        with db_engine.begin() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN azaion_events%' AND pid <> pg_backend_pid()"
                )
            )
        deadline = time.monotonic() + 5
        while listener.listening.is_set() and time.monotonic() < deadline:
            time.sleep(PING / 10)
        assert listener.listening.wait(5), "the listener did not come back"
        # A commit the app does not see itself (another process, as far as it knows) reaches
        # its streams through the listener alone: heartbeats are a minute apart.
        admin = session.query(User).filter_by(email=ADMIN_EMAIL).one()
        record_hardware_reset(session, admin)
        session.commit()
        assert stream.next(timeout=3)["data"]["email"] == ADMIN_EMAIL
