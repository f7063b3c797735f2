"""Row 5: `POST /resources/get/{folder}` of the real server against a minimal FastAPI endpoint
that answers the same bytes, both served by uvicorn the same way in their own processes, with a
load generator in a third (`wrk` when installed, else benchmarks/loadgen.py), 16 clients."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from benchmarks.harness import FOLDER, ROOT, Env, Row, log
from benchmarks.transfers import publish

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


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def load(url: str, body: str, token: str, seconds: float, clients: int, work: Path) -> dict:
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


def server_rows(env: Env, seconds: float, clients: int = 16) -> list[Row]:
    name = "server-probe.bin"
    publish(env, name, 64 * 1024)  # its small part is the default 3 KiB
    envelope = env.envelope(name)
    body = json.dumps(env.get_body(name))
    token = env.token()
    work = Path(tempfile.mkdtemp(prefix="bench-rps-", dir=env.work))
    (work / "body.bin").write_bytes(envelope)
    port = free_port()
    minimal_url = f"http://127.0.0.1:{port}"
    minimal = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.minimal_app",
            "--port",
            str(port),
            "--body",
            str(work / "body.bin"),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(minimal_url)
        real_get = f"{env.url}/resources/get/{FOLDER}"
        minimal_get = f"{minimal_url}/resources/get/{FOLDER}"
        check = requests.post(minimal_get, data=body, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        if check.content != envelope:
            raise RuntimeError("the minimal endpoint does not answer the same bytes")
        log(f"/resources/get: {clients} clients, {seconds:.0f} s on each server (after a short warm-up)")
        load(real_get, body, token, 2, clients, work)
        load(minimal_get, body, token, 2, clients, work)
        real = load(real_get, body, token, seconds, clients, work)
        base = load(minimal_get, body, token, seconds, clients, work)
    finally:
        minimal.terminate()
        minimal.wait(timeout=15)
    label = f"{len(envelope)} B"
    ratio = real["rps"] / base["rps"]
    samples = {"real": real, "minimal": base}
    return [
        Row(
            "5",
            f"/resources/get rps ({real['tool']}, {clients} clients)",
            label,
            real["rps"],
            "rps",
            "minimal FastAPI endpoint",
            base["rps"],
            ratio,
            ">= 0.5",
            ratio >= 0.5 and not real["errors"],
            1,
            samples,
        ),
        Row(
            "5",
            "/resources/get p50 latency",
            label,
            real["p50_ms"],
            "ms",
            "minimal FastAPI endpoint",
            base["p50_ms"],
            real["p50_ms"] / base["p50_ms"],
            "-",
            None,
            1,
        ),
        Row(
            "5",
            "/resources/get p99 latency",
            label,
            real["p99_ms"],
            "ms",
            "minimal FastAPI endpoint",
            base["p99_ms"],
            real["p99_ms"] / base["p99_ms"],
            "< 100 ms",
            real["p99_ms"] < 100,
            1,
        ),
    ]
