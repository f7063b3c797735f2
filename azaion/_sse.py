"""Server-sent events: parse a ``text/event-stream`` and follow it across reconnections.

The format is small (https://html.spec.whatwg.org/multipage/server-sent-events.html) and the
client already holds a pooled, authenticated ``requests`` session, so a dozen lines of parsing
here beat another dependency with its own HTTP stack.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterable, Iterator
from typing import Any, Callable, Optional

from azaion.errors import NetworkError, ServerError

log = logging.getLogger("azaion")


def parse(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Events of a stream given line by line: ``{"id", "type", "data"}``; comments are skipped."""
    event_id: Optional[str] = None
    event_type = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                text = "\n".join(data)
                try:
                    payload: Any = json.loads(text)
                except ValueError:
                    payload = text
                yield {"id": _as_id(event_id), "type": event_type, "data": payload}
            event_type, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field == "event":
            event_type = value
        elif field == "id":
            event_id = value


def _as_id(value: Optional[str]) -> Any:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def follow(
    connect: Callable[[Optional[Any]], Any], last_event_id: Optional[Any], reconnect: bool, backoff: float
) -> Iterator[dict[str, Any]]:
    """Yield events from ``connect(last_id)`` responses, reconnecting after the last one seen."""
    failures = 0
    while True:
        try:
            response = connect(last_event_id)
            failures = 0
            try:
                for event in parse(response.iter_lines(decode_unicode=True)):
                    if event["id"] is not None:
                        last_event_id = event["id"]
                    yield event
            finally:
                response.close()
        except (NetworkError, ServerError) as e:
            if not reconnect:
                raise
            failures += 1
            log.info("event stream interrupted (%s); reconnecting", e.code)
        except Exception as e:
            # A connection that breaks mid-stream surfaces as a requests/urllib3 error here.
            if not reconnect or type(e).__module__.split(".")[0] not in ("requests", "urllib3", "http"):
                raise
            failures += 1
            log.info("event stream broke off (%s); reconnecting", type(e).__name__)
        if not reconnect:
            return
        time.sleep(min(30.0, backoff * (2 ** min(failures, 6))) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
