"""Connection limits around uvicorn: a deadline for each request's head, a body read timeout,
a cap on open connections, a cap on the head's size, and uvicorn's own idle keep-alive timeout.

What uvicorn (0.54) has, and is used: `timeout_keep_alive` closes a connection idle after a
response; `h11_max_incomplete_event_size` caps a head under h11. What it lacks: any deadline
before a request's head is complete (a connection that sends half a request line, or one header
byte every few seconds, is held for ever: a slow-loris), any timeout while a body arrives, and a
head size cap under httptools (llhttp has none). Its `limit_concurrency` is no cap either: once
that many sockets are open it answers 503 to every new request, so a flood of half-open sockets
turns `/health` away. `guarded_protocol` subclasses uvicorn's HTTP protocol (httptools when
installed, else h11), keeps uvicorn's parsing and ASGI handling as they are, and adds:

* the head deadline: from the connection's start, or from the end of the previous response,
  the head must be complete within AZAION_HEADER_TIMEOUT_SECONDS, however the bytes trickle in;
* the body timeout: no byte of a request body for AZAION_BODY_TIMEOUT_SECONDS closes the
  connection (not counted while uvicorn itself paused reading because the app is slow);
* the head size: more than AZAION_MAX_HEADER_BYTES before the head is complete closes it;
* the cap: past AZAION_MAX_CONNECTIONS open connections, the one that has waited longest for a
  head (half-open or idle keep-alive) is closed to make room; when none waits, the new one is.
"""

from __future__ import annotations

import asyncio
from typing import Any

from azaion_server.settings import ServerSettings

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # uvicorn without httptools: its pure-Python h11 protocol
    from uvicorn.protocols.http.h11_impl import H11Protocol as _BaseProtocol  # type: ignore[assignment]


class GuardedProtocol(_BaseProtocol):
    """uvicorn's HTTP/1.1 protocol with the limits above; `limits` is set by `guarded_protocol`."""

    limits: ServerSettings

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._timer: asyncio.TimerHandle | None = None
        self._waiting_since: float | None = None  # set while a head is awaited
        self._head_bytes = 0
        self._head_cycle: Any = None  # the last request whose head was complete
        self._make_room()
        if not self.transport.is_closing():
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        self._waiting_since = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._waiting_since is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        if self.transport.is_closing():
            self._cancel()
            return
        cycle = self.cycle
        if cycle is not None and cycle is not self._head_cycle:  # a head just completed
            self._head_cycle = cycle
            self._waiting_since = None
            self._cancel()
        if self._waiting_since is not None:
            if self._head_bytes > self.limits.max_header_bytes:
                self._close()
        elif cycle is not None and cycle.more_body and not cycle.response_complete:
            self._arm(self.limits.body_timeout_seconds, self._body_timed_out)
        else:
            self._cancel()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._await_head()  # besides uvicorn's keep-alive timeout: whichever comes first

    def _await_head(self) -> None:
        self._waiting_since = self.loop.time()
        self._head_bytes = 0
        self._arm(self.limits.header_timeout_seconds, self._close)

    def _arm(self, seconds: float, callback: Any) -> None:
        self._cancel()
        self._timer = self.loop.call_later(seconds, callback)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _close(self) -> None:
        self._cancel()
        self._waiting_since = None
        if not self.transport.is_closing():
            self.transport.close()

    def _body_timed_out(self) -> None:
        if self.flow.read_paused:  # the app has not read what came: not the client's fault
            self._arm(self.limits.body_timeout_seconds, self._body_timed_out)
            return
        self._close()

    def _make_room(self) -> None:
        if len(self.connections) <= self.limits.max_connections:
            return
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedProtocol) and c is not self and c._waiting_since is not None
        ]
        if waiting:
            min(waiting, key=lambda c: c._waiting_since or 0.0)._close()
        else:
            self.transport.close()


def guarded_protocol(limits: ServerSettings) -> type[GuardedProtocol]:
    """A `GuardedProtocol` class with `limits`, for uvicorn's `http` option."""
    return type("AzaionHttpProtocol", (GuardedProtocol,), {"limits": limits})


class EnvironmentGuardedProtocol(GuardedProtocol):
    """For `--workers`: uvicorn imports the protocol by name in each worker process (a class made
    at run time cannot cross to a spawned process), and the limits come from the environment
    that the parent prepared for its workers."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        cls = type(self)
        if "limits" not in cls.__dict__:
            cls.limits = ServerSettings()
        super().connection_made(transport)


def uvicorn_options(limits: ServerSettings, *, by_name: bool = False) -> dict[str, Any]:
    """The keyword arguments of `uvicorn.run`/`uvicorn.Config` that apply the connection limits;
    `by_name` for worker processes, which import the protocol class by its name."""
    return {
        "http": (
            f"{__name__}:{EnvironmentGuardedProtocol.__name__}" if by_name else guarded_protocol(limits)
        ),
        "timeout_keep_alive": limits.keep_alive_seconds,
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "limit_concurrency": None,
        "backlog": max(2048, limits.max_connections),
    }


__all__ = ["EnvironmentGuardedProtocol", "GuardedProtocol", "guarded_protocol", "uvicorn_options"]
