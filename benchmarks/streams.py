"""Row 7: thousands of concurrent event streams on one server process on PostgreSQL.

One `python -m azaion_server` (one worker, heartbeats every 15 s as by default), N Validators
with one stream each (a device holds one), the subscribers in a process of their own
(`benchmarks/subscribers.py`, asyncio and raw sockets). Measured:

* server memory per stream: the RSS of the server process with every stream open, less its RSS
  before (after one stream was opened and closed, so that the listener and every module exist),
  divided by N;
* publish → last subscriber: from the start of an upload (the admin's `POST /resources`) to the
  moment the last of the N streams has the event; p50 and p99 over the publishes. The reference
  is the same publish with one stream open, in the same run.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from benchmarks.harness import FOLDER, ROOT, Row, log, median
from benchmarks.server_rps import _reset_postgresql

PUBLISHES = 15


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _users(server, count: int) -> list[str]:
    """`count` Validators, each logged in; their tokens."""
    password = secrets.token_urlsafe(12)

    def one(i: int) -> str:
        email = f"device-{i}@fleet.bench"
        server.create_user(email, password, "Validator")
        answer = requests.post(f"{server.url}/login", json={"email": email, "password": password}, timeout=60)
        answer.raise_for_status()
        return answer.json()["token"]

    server.admin("GET", "/users")  # logs the admin in once, before the threads share the session
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


class Subscribers:
    """benchmarks/subscribers.py with `tokens`, once every stream is connected."""

    def __init__(self, url: str, tokens: list[str], work: Path) -> None:
        path = work / f"tokens-{len(tokens)}.json"
        path.write_text(json.dumps(tokens))
        host, port = url.removeprefix("http://").split(":")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.subscribers", host, port, str(path)],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ready = self.line()
        if self.ready["ready"] != len(tokens):
            raise RuntimeError(f"only {self.ready['ready']} of {len(tokens)} streams opened: {self.ready}")

    def line(self) -> dict:
        assert self.process.stdout is not None
        text = self.process.stdout.readline()
        if not text:
            raise RuntimeError("the subscribers ended")
        return json.loads(text)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _publishes(server, subscribers: Subscribers, count: int, tag: str) -> list[dict]:
    results = []
    for i in range(count):
        started = time.monotonic()
        server.upload(FOLDER, f"{tag}-{i}.bin", os.urandom(64))
        report = subscribers.line()
        report["to_last"] = report["last"] - started
        report["to_first"] = report["first"] - started
        results.append(report)
        time.sleep(0.2)
    return results


def stream_rows(work: Path, database_url: str, streams: int) -> list[Row]:
    """Row 7: memory per stream and publish → last subscriber with `streams` open."""
    from build_tools.live_server import LiveServer

    _reset_postgresql(database_url)
    env = {
        "AZAION_DATABASE_URL": database_url,
        "AZAION_DATA_DIR": str(work / "streams-data"),
        "AZAION_JWT_SECRET": secrets.token_urlsafe(48),
        "AZAION_CLIENT_KEY_SECRET": secrets.token_urlsafe(48),
        "AZAION_LOG_LEVEL": "WARNING",
        "AZAION_ARGON2_TIME_COST": "1",
        "AZAION_ARGON2_MEMORY_KIB": "8",
        "AZAION_ARGON2_PARALLELISM": "1",
        # The connection cap (default 1,000) would close the streams above it.
        "AZAION_MAX_CONNECTIONS": str(streams + 100),
    }
    server = LiveServer(env, log_dir=work)
    try:
        log(f"event streams: creating {streams} Validators")
        tokens = _users(server, streams + 1)
        one = Subscribers(server.url, tokens[-1:], work)
        reference = _publishes(server, one, 5, "one")
        one.close()
        time.sleep(1)
        before = _rss_kib(server.process.pid)
        log(f"event streams: opening {streams}")
        many = Subscribers(server.url, tokens[:streams], work)
        time.sleep(2)
        after = _rss_kib(server.process.pid)
        log(f"event streams: {streams} open in {many.ready['seconds']:.1f} s; {PUBLISHES} publishes")
        results = _publishes(server, many, PUBLISHES, "many")
        many.close()
    finally:
        server.stop()
    per_stream = (after - before) / streams
    to_last = [r["to_last"] * 1000 for r in results]
    ref_last = [r["to_last"] * 1000 for r in reference]
    missing = sum(streams - r["received"] for r in results)
    label = f"{streams} streams"
    p50, p99 = median(to_last), _percentile(to_last, 99)
    samples = {"results": results, "reference": reference, "rss_before_kib": before, "rss_after_kib": after}
    return [
        Row(
            "7",
            "server memory per event stream (RSS delta / streams)",
            label,
            per_stream,
            "KiB",
            "-",
            None,
            None,
            "< 50 KiB",
            per_stream < 50,
            1,
            samples,
        ),
        Row(
            "7",
            "publish -> last subscriber p50",
            label,
            p50,
            "ms",
            "1 stream",
            median(ref_last),
            p50 / median(ref_last),
            "-",
            None,
            len(results),
        ),
        Row(
            "7",
            f"publish -> last subscriber p99 ({missing} missed)",
            label,
            p99,
            "ms",
            "1 stream",
            _percentile(ref_last, 99),
            None,
            "< 2000 ms",
            p99 < 2000 and not missing,
            len(results),
        ),
        Row(
            "7",
            f"time to open {streams} streams",
            label,
            many.ready["seconds"],
            "s",
            "-",
            None,
            None,
            "-",
            None,
            1,
        ),
    ]
