"""The real server under uvicorn on a loopback port, in a thread of the test process."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from tests.conftest import free_port


@contextlib.contextmanager
def serve(app: Any, **config: Any) -> Iterator[tuple[str, uvicorn.Server]]:
    """Run `app` under uvicorn (keywords go to `uvicorn.Config`); yields its URL and the server."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(10)


class HealthProbe:
    """Asks `/health` over its own connection every few milliseconds; records each answer's time."""

    def __init__(self, url: str, interval: float = 0.02) -> None:
        import httpx

        self._http = httpx.Client(base_url=url, timeout=30)
        self._interval = interval
        self._stop = threading.Event()
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                status = self._http.get("/health").status_code
                if status != 200:
                    self.failures.append(f"status {status}")
            except Exception as e:  # a refused or timed-out probe is what the test looks for
                self.failures.append(type(e).__name__)
            self.latencies.append(time.perf_counter() - started)
            self._stop.wait(self._interval)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(60)
        self._http.close()

    @property
    def slowest(self) -> float:
        """The longest a probe waited for its answer."""
        return max(self.latencies, default=0.0)
