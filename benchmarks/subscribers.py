"""The subscribers of row 7, in a process of their own: N event streams over raw sockets (asyncio).

    python -m benchmarks.subscribers HOST PORT TOKENS_FILE [OPEN_AT_ONCE]

TOKENS_FILE holds a JSON list of bearer tokens, one stream each. The process prints one JSON line
per fact, on stdout: `{"ready": n, "seconds": s}` once every stream answered `: connected`, then
for each event id `{"id": i, "received": n, "first": t, "last": t}` (times are
`time.monotonic()`, the same clock in every process of the machine) once every stream has it or
10 s after the first one did. It ends when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time


class Streams:
    def __init__(self, host: str, port: int, tokens: list[str]) -> None:
        self.host, self.port, self.tokens = host, port, tokens
        self.arrivals: dict[int, list[float]] = {}
        self.reported: set[int] = set()
        self.writers: list[asyncio.StreamWriter] = []
        self.failed = 0

    async def open(self, token: str) -> asyncio.StreamReader | None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(
            (
                f"GET /events HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            self.failed += 1
            writer.close()
            return None
        while True:  # headers, then the first comment
            line = await reader.readline()
            if not line or line.startswith(b": connected"):
                break
        self.writers.append(writer)
        return reader

    async def follow(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"id:"):
                now = time.monotonic()
                event_id = int(line[3:].strip())
                self.arrivals.setdefault(event_id, []).append(now)
                got = self.arrivals[event_id]
                if len(got) == len(self.writers):
                    self.report(event_id)

    def report(self, event_id: int) -> None:
        if event_id in self.reported:
            return
        self.reported.add(event_id)
        got = self.arrivals[event_id]
        line = {"id": event_id, "received": len(got), "first": min(got), "last": max(got)}
        print(json.dumps(line), flush=True)

    async def late_reports(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for event_id, got in list(self.arrivals.items()):
                if event_id not in self.reported and now - min(got) > 10:
                    self.report(event_id)


async def main(host: str, port: int, tokens: list[str], at_once: int) -> None:
    streams = Streams(host, port, tokens)
    started = time.monotonic()
    gate = asyncio.Semaphore(at_once)
    followers = []

    async def one(token: str) -> None:
        async with gate:
            try:
                reader = await streams.open(token)
            except OSError:  # refused or closed by the server: counted, or the wait never ends
                streams.failed += 1
                reader = None
        if reader is not None:
            await streams.follow(reader)

    followers = [asyncio.create_task(one(t)) for t in tokens]
    while len(streams.writers) + streams.failed < len(tokens):
        await asyncio.sleep(0.05)
    print(
        json.dumps(
            {"ready": len(streams.writers), "failed": streams.failed, "seconds": time.monotonic() - started}
        ),
        flush=True,
    )
    reporter = asyncio.create_task(streams.late_reports())
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    reporter.cancel()
    for task in followers:
        task.cancel()
    for writer in streams.writers:
        writer.close()


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    at_once = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    with open(path) as f:
        token_list = json.load(f)
    asyncio.run(main(host, port, token_list, at_once))
