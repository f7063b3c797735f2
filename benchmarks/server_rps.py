"""Row 5: `POST /resources/get/{folder}` of the real server against a minimal FastAPI endpoint
that answers the same bytes, on one worker and on two.

Both are served by uvicorn the same way, in processes of their own, and loaded by `wrk` (two
threads, a Lua script for the POST body and headers) in a third; `benchmarks/loadgen.py`
(Python threads) stands in only where `wrk` is missing (the Makefile installs it). Each server
is measured in rounds alternating with its reference, so both see the machine in the same
state; the figures are medians of the rounds.

The real server is `python -m azaion_server [--workers N]` on its own database (a SQLite file,
or PostgreSQL when `build_tools/with_postgres.sh` gave one), with an Operator licensed for the
folder and a resource the size of a default small part (3 KiB).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import requests

from benchmarks.harness import FOLDER, ROOT, Row, log, median

SMALL_PART_BYTES = 3 * 1024
RESOURCE = "server-probe.bin"
HARDWARE = hashlib.sha256(b"benchmark machine").hexdigest()

LUA = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "JSON {{\\"requests\\": %d, \\"seconds\\": %f, \\"p50_ms\\": %f, \\"p99_ms\\": %f, \\"errors\\": %d}}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def free_port() -> int:
    from build_tools.live_server import free_port as pick

    return pick()


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and all its descendants (uvicorn's workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def load(
    url: str, body: str, token: str, seconds: float, clients: int, work: Path, pid: Optional[int] = None
) -> dict:
    """One run of the load generator against `url`: requests/s, p50/p99 in ms, errors; with
    `pid`, also the server's CPU time per request (ms), which the other tenants of a shared
    machine disturb far less than throughput."""
    before = cpu_seconds(pid) if pid else 0.0
    result = _generate(url, body, token, seconds, clients, work)
    if pid:
        result["cpu_ms_per_request"] = (cpu_seconds(pid) - before) * 1000 / max(1, result["requests"])
    return result


def _generate(url: str, body: str, token: str, seconds: float, clients: int, work: Path) -> dict:
    wrk = shutil.which("wrk")
    if wrk:
        script = work / "post.lua"
        script.write_text(LUA.format(body=body, token=token))
        out = subprocess.run(
            [wrk, "-t2", f"-c{clients}", f"-d{seconds:.0f}s", "--latency", "-s", str(script), url],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
        line = next(x for x in out.splitlines() if x.startswith("JSON "))
        result = json.loads(line[5:])
        result["rps"] = result["requests"] / result["seconds"]
        result["tool"] = "wrk -t2"
        return result
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.loadgen", url, body, token, str(seconds), str(clients)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def server_environment(database_url: str, work: Path) -> dict[str, str]:
    """The settings of the benchmarked server: production-like, logs at WARNING (no access log)."""
    return {
        "AZAION_DATABASE_URL": database_url,
        "AZAION_DATA_DIR": str(work / "data"),
        "AZAION_JWT_SECRET": secrets.token_urlsafe(48),
        "AZAION_CLIENT_KEY_SECRET": secrets.token_urlsafe(48),
        "AZAION_LOG_LEVEL": "WARNING",
        "AZAION_STORAGE": "db",
    }


@dataclass
class Setup:
    """What every run shares: the request body, the token, the expected answer's size."""

    body: str
    token: str
    envelope_size: int


def prepare(server, work: Path) -> Setup:
    """An Operator licensed for the folder, a published small part, and the Operator's token."""
    email, password = "operator@bench.local", secrets.token_urlsafe(12)
    operator = server.create_user(email, password, "Operator")
    server.set_license(operator, [FOLDER], days=30)
    server.upload(FOLDER, RESOURCE, os.urandom(SMALL_PART_BYTES))
    token = server.login(email, password)
    body = json.dumps({"fileName": RESOURCE, "password": password, "hardware": HARDWARE})
    answer = requests.post(
        f"{server.url}/resources/get/{FOLDER}",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )
    answer.raise_for_status()
    (work / "body.bin").write_bytes(answer.content)
    return Setup(body, token, len(answer.content))


class Minimal:
    """The reference endpoint in its own process(es)."""

    def __init__(self, work: Path, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "benchmarks.minimal_app", "--port", str(self.port)]
        command += ["--body", str(work / "body.bin"), "--workers", str(workers), "--log-level", "warning"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_up(self.url)

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def measure(
    database_url: str, label: str, workers: int, work: Path, seconds: float, rounds: int, clients: int
) -> tuple[dict, dict, Setup]:
    """Medians of `rounds` alternating runs of the real server and the minimal endpoint."""
    from build_tools.live_server import LiveServer

    env = server_environment(database_url, work)
    server = LiveServer(env, log_dir=work, args=["--workers", str(workers)] if workers > 1 else [])
    minimal: Optional[Minimal] = None
    try:
        setup = prepare(server, work)
        minimal = Minimal(work, workers)
        real_get = f"{server.url}/resources/get/{FOLDER}"
        minimal_get = f"{minimal.url}/resources/get/{FOLDER}"
        check = requests.post(
            minimal_get, data=setup.body, headers={"Authorization": f"Bearer {setup.token}"}, timeout=5
        )
        if check.content != (work / "body.bin").read_bytes():
            raise RuntimeError("the minimal endpoint does not answer the same bytes")
        log(
            f"/resources/get on {label}, {workers} worker(s): {clients} connections, "
            f"{rounds} x {seconds:.0f} s on each server (after a 2 s warm-up)"
        )
        # Warm-up: every worker verifies the password once (argon2) and fills its caches.
        load(real_get, setup.body, setup.token, 2, clients, work)
        load(minimal_get, setup.body, setup.token, 2, clients, work)
        reals, bases = [], []
        for _ in range(rounds):
            reals.append(load(real_get, setup.body, setup.token, seconds, clients, work, server.process.pid))
            bases.append(
                load(minimal_get, setup.body, setup.token, seconds, clients, work, minimal.process.pid)
            )
    finally:
        if minimal is not None:
            minimal.stop()
        server.stop()
    return _summary(reals), _summary(bases), setup


def _summary(runs: list[dict]) -> dict:
    return {
        "rps": median([r["rps"] for r in runs]),
        "p50_ms": median([r["p50_ms"] for r in runs]),
        "p99_ms": median([r["p99_ms"] for r in runs]),
        "errors": sum(r["errors"] for r in runs),
        "cpu_ms": median([r["cpu_ms_per_request"] for r in runs]),
        "tool": runs[0]["tool"],
        "runs": runs,
    }


def server_rows(
    work: Path,
    seconds: float,
    *,
    databases: list[tuple[str, str]],
    rounds: int = 3,
    clients: int = 16,
    worker_counts: tuple[int, ...] = (1, 2),
) -> list[Row]:
    """Row 5 for each (label, database URL): rps and p50/p99 on each worker count, and scaling."""
    rows: list[Row] = []
    for label, url in databases:
        results: dict[int, tuple[dict, dict]] = {}
        for workers in worker_counts:
            # A fresh database per worker count: the same state for each.
            run_dir = Path(tempfile.mkdtemp(prefix=f"rps-{workers}w-", dir=work))
            db_url = url.replace("{dir}", str(run_dir))
            if db_url.startswith("postgresql"):
                _reset_postgresql(db_url)
            real, base, setup = measure(db_url, label, workers, run_dir, seconds, rounds, clients)
            results[workers] = (real, base)
            size = f"{setup.envelope_size} B"
            what = f"{label}, {workers} worker{'s' if workers > 1 else ''}"
            ratio = real["rps"] / base["rps"]
            samples = {"real": real, "minimal": base}
            rows += [
                Row(
                    "5",
                    f"/resources/get rps ({what}, {clients} conn., {real['tool']})",
                    size,
                    real["rps"],
                    "rps",
                    "minimal FastAPI endpoint",
                    base["rps"],
                    ratio,
                    ">= 0.5",
                    ratio >= 0.5 and not real["errors"],
                    rounds,
                    samples,
                ),
                Row(
                    "5",
                    f"/resources/get server CPU per request ({what})",
                    size,
                    real["cpu_ms"],
                    "ms",
                    "minimal FastAPI endpoint",
                    base["cpu_ms"],
                    base["cpu_ms"] / real["cpu_ms"],
                    "-",
                    None,
                    rounds,
                ),
                Row(
                    "5",
                    f"/resources/get p50 ({what})",
                    size,
                    real["p50_ms"],
                    "ms",
                    "minimal FastAPI endpoint",
                    base["p50_ms"],
                    real["p50_ms"] / base["p50_ms"],
                    "-",
                    None,
                    rounds,
                ),
                Row(
                    "5",
                    f"/resources/get p99 ({what})",
                    size,
                    real["p99_ms"],
                    "ms",
                    "minimal FastAPI endpoint",
                    base["p99_ms"],
                    real["p99_ms"] / base["p99_ms"],
                    "< 100 ms",
                    real["p99_ms"] < 100,
                    rounds,
                ),
            ]
        if 1 in results and 2 in results:
            real_scale = results[2][0]["rps"] / results[1][0]["rps"]
            base_scale = results[2][1]["rps"] / results[1][1]["rps"]
            rows.append(
                Row(
                    "5",
                    f"/resources/get 2 workers / 1 worker ({label})",
                    "rps",
                    real_scale,
                    "x",
                    "minimal: 2 workers / 1",
                    base_scale,
                    real_scale,
                    ">= 1.6",
                    real_scale >= 1.6,
                    rounds,
                )
            )
    return rows


def _reset_postgresql(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
