"""Live servers (uvicorn on loopback, in a thread) and a reader of their event streams.

Streams are read over real HTTP: a stream never ends by itself, which the in-process test
client cannot follow.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.server.helpers import Api, serving

# Short heartbeats: a stream notices revocation and expiry within this.
PING = 0.2


@dataclass
class Live:
    """One running app: its URL, the app itself, and an `Api` helper over HTTP."""

    url: str
    app: Any
    api: Api

    @property
    def context(self) -> Any:
        return self.app.state.context

    def stream(self, headers: dict[str, str], **kwargs: Any) -> Stream:
        """Open `GET /events`; asserts it opened."""
        stream = Stream(self.url, headers, **kwargs)
        assert stream.status == 200, stream.body
        return stream


@pytest.fixture
def make_live(make_settings, clean_db) -> Iterator[Callable[..., Live]]:
    """Start apps under uvicorn on free loopback ports; all are stopped after the test."""
    from azaion_server.app import create_app

    with contextlib.ExitStack() as stack:

        def make(**overrides: Any) -> Live:
            overrides.setdefault("sse_ping_seconds", PING)
            app = create_app(make_settings(**overrides))
            url = stack.enter_context(serving(app, timeout_graceful_shutdown=1))
            http = stack.enter_context(httpx.Client(base_url=url, timeout=10))
            return Live(url, app, Api(http))

        yield make


@pytest.fixture
def live(make_live) -> Live:
    """One live app with the default test settings."""
    return make_live()


@dataclass
class Stream:
    """`GET /events` read line by line in a thread; events and comments as they arrive."""

    url: str
    headers: dict[str, str]
    params: dict[str, Any] | None = None
    status: int = 0
    body: str = ""
    content_type: str = ""
    comments: list[str] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._http = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self._context = self._http.stream(
            "GET", f"{self.url}/events", headers=self.headers, params=self.params
        )
        self._response = self._context.__enter__()
        self.status = self._response.status_code
        self.content_type = self._response.headers.get("content-type", "")
        if self.status != 200:
            self.body = self._response.read().decode()
            self.close()
            return
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        event: dict[str, Any] = {}
        data: list[str] = []
        try:
            for line in self._response.iter_lines():
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                elif line == "":
                    if data:
                        event["data"] = json.loads("\n".join(data))
                        self._events.put(event)
                    event, data = {}, []
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "data":
                        data.append(value)
                    else:
                        event[name] = value
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by the test
        finally:
            self.ended.set()

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next event; fails after `timeout` seconds without one."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no event within {timeout} s (comments so far: {self.comments[-3:]})")

    def take(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The next `count` events."""
        return [self.next(timeout) for _ in range(count)]

    def nothing_within(self, seconds: float) -> bool:
        """True when no event arrives within `seconds`."""
        try:
            event = self._events.get(timeout=seconds)
        except queue.Empty:
            return True
        pytest.fail(f"unexpected event {event}")

    def close(self) -> None:
        """Drop the connection."""
        self._response.close()
        self._context.__exit__(None, None, None)
        self._http.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
