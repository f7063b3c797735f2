"""A producer thread that runs a bounded number of results ahead of its consumer.

Plain Python: it protects nothing. A cold load uses it to receive the next segments from S3 (and
write them to the cache file) while the caller's thread decrypts the current one.
"""

from __future__ import annotations

import contextlib
import threading
from queue import Empty, Queue
from typing import Any, Callable, Optional


class ReadAhead:
    """Calls produce() in a thread, up to `depth` results ahead of next(); None ends."""

    def __init__(self, produce: Callable[[], Optional[Any]], depth: int) -> None:
        self.produce = produce
        self.results: Queue = Queue(depth)
        self.stopped = False
        self.thread = threading.Thread(target=self.run, name="azaion-read-ahead", daemon=True)
        self.thread.start()

    def run(self) -> None:
        try:
            while not self.stopped:
                result = self.produce()
                self.results.put((result, None))
                if result is None:
                    return
        except BaseException as e:
            self.results.put((None, e))

    def next(self) -> Optional[Any]:
        result, error = self.results.get()
        if error is not None:
            self.stopped = True
            raise error
        return result

    def close(self) -> None:
        # Stops the thread and waits for it; what it had read ahead is dropped.
        self.stopped = True
        while self.thread.is_alive():
            with contextlib.suppress(Empty):
                self.results.get(timeout=0.05)
        self.thread.join()
