"""The newest events of one process, read from the database once for all of its streams.

Without it, one event woke every stream of the process and each ran its own query for the rows
after its last id: 2,000 streams meant 2,000 queries, through a thread pool of 40 and a pool of
connections, before the last of them had the event. A stream that is caught up asks the feed
instead; the feed reads the new rows once (the first stream to ask after a wake-up reads, the
others wait for it and share the rows) and keeps the newest ones in memory with their `data`
already serialised.

Why nothing is missed: a wake-up comes after the commit that recorded the event (the commit
hook, or PostgreSQL's NOTIFY, delivered at commit), and the hub counts wake-ups. A refresh
notes the count before it queries, so it sees every event whose wake-up it counted; a stream
that was woken finds the count above what the feed last loaded and makes it refresh. Ids become
visible in increasing order (`models.py`), so reading the rows after the newest one held is
complete. A stream resuming from before the oldest row held, and every stream at its heartbeat
(which is how other processes' events reach SQLite), reads the table itself, as before.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from azaion_server.events import models
from azaion_server.events.entities import Event

if TYPE_CHECKING:
    from azaion_server.events.hub import EventHub

Reader = Callable[[int], Awaitable[list[Event]]]


class FeedItem:
    """An event and its `data` as streamed (the same for every subscriber)."""

    __slots__ = ("data", "event", "id")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.id = event.id
        self.data = json.dumps(models.message(event))


class EventFeed:
    """Events with ids in (`floor`, `upto`], all of them, in id order."""

    CAPACITY = 1000

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self._items: list[FeedItem] = []
        self._ids: list[int] = []
        self.floor: int | None = None
        self.upto = 0
        self._loaded = -1
        self._loading: asyncio.Task[None] | None = None
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"EventFeed(floor={self.floor}, upto={self.upto}, held={len(self._items)})"

    async def after(self, last_id: int, read: Reader, batch: int) -> list[FeedItem] | None:
        """The events after `last_id`, or None when the stream must read the table itself."""
        if self.floor is None:
            # The first stream to come here has read the table up to `last_id`: nothing at or
            # below it is needed by streams that are caught up.
            self.floor = self.upto = last_id
        if last_id < self.floor:
            return None
        if self._hub.generation != self._loaded or last_id > self.upto:
            await self._refresh(read, batch)
        start = bisect.bisect_right(self._ids, last_id)
        return self._items[start:]

    async def _refresh(self, read: Reader, batch: int) -> None:
        # One read at a time, awaited by every stream that needs it. Not an asyncio.Lock: a lock
        # hands itself to one waiter per turn of the event loop, so 2,000 woken streams passed
        # it one after the other (each a turn of a loop busy with the others' sends) before the
        # last one had the event; a task's completion wakes all of its waiters at once.
        generation = self._hub.generation
        while self._loaded < generation:
            task = self._loading
            mine = task is None
            if task is None:
                task = self._loading = asyncio.get_running_loop().create_task(self._load(read, batch))
                task.add_done_callback(self._loaded_by)
            try:
                await asyncio.shield(task)  # a stream that goes away leaves the read to the others
            except Exception:
                if mine:
                    raise
                # Another stream's read failed: this one tries its own, as it did under the lock.

    def _loaded_by(self, task: asyncio.Task[None]) -> None:
        if self._loading is task:
            self._loading = None

    async def _load(self, read: Reader, batch: int) -> None:
        generation = self._hub.generation  # counted before the query
        while True:
            rows = await read(self.upto)
            for row in rows:
                self._items.append(FeedItem(row))
                self._ids.append(row.id)
            if rows:
                self.upto = rows[-1].id
            if len(rows) < batch:
                break
        self._loaded = generation
        self.refreshes += 1
        excess = len(self._items) - self.CAPACITY
        if excess > 0:
            self.floor = self._ids[excess - 1]
            del self._items[:excess], self._ids[:excess]
