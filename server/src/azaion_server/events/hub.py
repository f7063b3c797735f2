"""Waking this process's event streams when new events may be in the table.

A stream never receives an event through the hub: it is only told to look, and reads the rows
after the last id it sent. A lost or duplicated wake-up therefore loses or repeats nothing; at
worst a stream notices a new event at its next heartbeat, when it looks anyway.

Commits in this process wake the streams directly (`AppContext` hooks the sessions' commits).
On PostgreSQL a listener thread with its own connection `LISTEN`s on the channel that every
instance `NOTIFY`s in the transaction that records an event, so an upload through one instance
wakes the streams of all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

from sqlalchemy import Engine

from azaion_server.events.feed import EventFeed
from azaion_server.events.models import CHANNEL

log = logging.getLogger(__name__)

PRUNE_INTERVAL_SECONDS = 60.0


class EventHub:
    """The subscribers of one process: each an `asyncio.Event` set (thread-safely) on a wake-up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}
        self._dsn: str | None = None
        self._listener: PgListener | None = None
        # Wake-ups so far: the feed reads again when this moved (feed.py).
        self.generation = 0
        self._next_prune = 0.0
        self.feed = EventFeed(self)

    def __repr__(self) -> str:
        return f"EventHub(subscribers={len(self._waiters)})"

    def subscribe(self) -> asyncio.Event:
        """A new waiter on the running loop; give it back with `unsubscribe`.

        The first subscriber starts the listener (PostgreSQL): a process without streams needs
        none, and a stream loses nothing by it starting late, since it reads the table first.
        """
        waiter = asyncio.Event()
        with self._lock:
            self._waiters[waiter] = asyncio.get_running_loop()
            if self._dsn is not None and self._listener is None:
                self._listener = PgListener(self._dsn, self)
                self._listener.start()
        return waiter

    def unsubscribe(self, waiter: asyncio.Event) -> None:
        """Forget a waiter."""
        with self._lock:
            self._waiters.pop(waiter, None)

    @property
    def notified(self) -> bool:
        """True while the PostgreSQL listener is connected: then every commit of every instance
        wakes this process's streams, and a heartbeat need not read the table."""
        listener = self._listener
        return listener is not None and listener.listening.is_set()

    def prune_due(self) -> bool:
        """True at most once a minute: old events are deleted when a stream opens, and a fleet
        that reconnects opens thousands at once."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_prune:
                return False
            self._next_prune = now + PRUNE_INTERVAL_SECONDS
            return True

    @property
    def subscribers(self) -> int:
        """How many streams wait in this process."""
        return len(self._waiters)

    def wake(self) -> None:
        """Tell every stream of this process to look for new events (from any thread)."""
        with self._lock:
            self.generation += 1
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Event]] = {}
            for waiter, loop in self._waiters.items():
                by_loop.setdefault(loop, []).append(waiter)
        # One hand-off per loop, not per stream: each `call_soon_threadsafe` writes to the
        # loop's self-pipe and takes its lock, 2,000 times per event at a fleet's stream count.
        for loop, batch in by_loop.items():
            with contextlib.suppress(RuntimeError):  # its loop closed: the streams are gone
                loop.call_soon_threadsafe(_set_all, batch)

    def start(self, engine: Engine) -> None:
        """Listen for other instances' events from the first subscriber on (PostgreSQL only;
        SQLite has one process)."""
        if engine.dialect.name == "postgresql":
            self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def stop(self) -> None:
        """Stop listening (at shutdown)."""
        with self._lock:
            listener, self._listener, self._dsn = self._listener, None, None
        if listener is not None:
            listener.stop()


def _set_all(waiters: list[asyncio.Event]) -> None:
    # On the waiters' loop: wake each stream.
    for waiter in waiters:
        waiter.set()


class PgListener:
    """A thread that holds one psycopg connection in `LISTEN` and wakes the hub on each `NOTIFY`.

    It reconnects after a lost connection (with backoff) and wakes every stream once connected
    again, since notifications sent meanwhile are lost; the streams re-read the table.
    """

    POLL_SECONDS = 0.5

    def __init__(self, dsn: str, hub: EventHub) -> None:
        self._dsn = dsn
        self._hub = hub
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="azaion-events-listener", daemon=True)

    def __repr__(self) -> str:
        return f"PgListener(listening={self.listening.is_set()})"

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; it does within a poll interval, closing its connection.

        Not waited for: shutting down need not take that long, and the thread holds nothing
        but its own connection.
        """
        self._stop.set()

    def _run(self) -> None:
        import psycopg

        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as connection:
                    self._listen(connection)
                    backoff = 0.5
            except psycopg.Error as e:
                log.warning("event listener: %s; reconnecting in %.1f s", type(e).__name__, backoff)
            finally:
                self.listening.clear()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)

    def _listen(self, connection: Any) -> None:
        connection.execute(f"LISTEN {CHANNEL}")
        self.listening.set()
        self._hub.wake()  # whatever was notified while this connection was not listening
        while not self._stop.is_set():
            for _notify in connection.notifies(timeout=self.POLL_SECONDS):
                self._hub.wake()
