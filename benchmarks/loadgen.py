"""A load generator for row 5 when `wrk` is not installed: N threads, each with its own
keep-alive `requests` session, POSTing the same body for D seconds. Prints one JSON line.

    python -m benchmarks.loadgen URL BODY_JSON TOKEN SECONDS CLIENTS
"""

from __future__ import annotations

import json
import sys
import threading
import time


def run(url: str, body: str, token: str, seconds: float, clients: int) -> dict:
    import requests

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(i: int) -> None:
        session = requests.Session()
        mine = latencies[i]
        start.wait()
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline[0]:
                break
            try:
                r = session.post(url, data=body, headers=headers, timeout=30)
                ok = r.status_code == 200 and r.content
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - t0)
            if not ok:
                errors[i] += 1
        session.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for mine in latencies for x in mine)
    n = len(every)

    def pct(p: float) -> float:
        return every[min(n - 1, int(p / 100 * n))] * 1000 if n else float("nan")

    return {
        "requests": n,
        "seconds": elapsed,
        "rps": n / elapsed,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "errors": sum(errors),
        "tool": "python threads + requests",
    }


if __name__ == "__main__":
    url, body, token, seconds, clients = sys.argv[1:6]
    print(json.dumps(run(url, body, token, float(seconds), int(clients))))
