"""The `name` filter of `GET /resources`: an RE2 regular expression, matched in linear time.

A backtracking engine (Python's `re`, which SQLAlchemy gives SQLite as REGEXP; PostgreSQL's to
a lesser degree) takes exponential time on patterns such as `a?a?…a?aa…a`, `(a+)+$` or
`(a|aa)+$` against a name that almost matches, and Python's `re` holds the GIL while it does:
one request stalled the whole process. No check of the pattern's shape caught every such family.

So the database no longer runs the pattern. It applies the visibility filter and the other
filters and streams the ids and names of what the caller may see, newest first; the pattern is
matched here with RE2 (google-re2), whose automata run in time linear in the name whatever the
pattern, on both databases alike. RE2's syntax is Perl's without back-references, lookarounds,
atomic groups or conditionals (those answer 400), and repetition counts stop at 1000. The route
is a plain function, so FastAPI runs all of this on a worker thread, never on the event loop.
The statements keep a deadline (`statement_timeout` on PostgreSQL, a progress handler on SQLite).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from typing import Any

import re2
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from azaion_server.errors import BadRequest

MAX_PATTERN_LENGTH = 128
# RE2's memory budget for one compiled pattern (its default is 8 MiB); past it the DFA falls
# back to the NFA, still linear.
MAX_PATTERN_MEMORY = 2 * 1024 * 1024
# The longest a listing with a `name` filter may run in the database.
QUERY_SECONDS = 2.0
# SQLite virtual machine steps between two looks at the clock: a row costs a dozen or so.
_SQLITE_STEPS = 16


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 writes parse errors to stderr otherwise: the caller gets the 400
    options.max_mem = MAX_PATTERN_MEMORY
    return options


_OPTIONS = _options()


class NamePattern:
    """A compiled `name` filter: `matches(name)` is a search (not anchored, like `re.search`)."""

    def __init__(self, pattern: str) -> None:
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise BadRequest(f"name: pattern longer than {MAX_PATTERN_LENGTH} characters")
        try:
            self._compiled = re2.compile(pattern, _OPTIONS)
        except (re2.error, TypeError, ValueError) as e:
            raise BadRequest(
                "name is not a valid regular expression (RE2 syntax: no back-references or lookarounds)"
            ) from e
        self.pattern = pattern

    def __repr__(self) -> str:
        return f"NamePattern({self.pattern!r})"

    def matches(self, name: str) -> bool:
        """True when the pattern occurs anywhere in `name`."""
        return self._compiled.search(name) is not None


def check_pattern(pattern: str) -> NamePattern:
    """`pattern` compiled when it is valid RE2 of at most 128 characters; BadRequest otherwise."""
    return NamePattern(pattern)


def first_matches(
    rows: Iterable[Any], pattern: NamePattern, count: int, seconds: float | None = None
) -> list[int]:
    """The ids of the first `count` rows (`id`, `name`) whose name matches, within `seconds`.

    The time is checked between rows, so the listing as a whole has the deadline on both
    databases (on PostgreSQL a streamed result is many short statements, each under its own
    `statement_timeout`).
    """
    end = time.monotonic() + (QUERY_SECONDS if seconds is None else seconds)
    ids: list[int] = []
    for row in rows:
        if time.monotonic() > end:
            raise BadRequest("name: listing too costly")
        if pattern.matches(row.name):
            ids.append(row.id)
            if len(ids) >= count:
                break
    return ids


@contextlib.contextmanager
def deadline(session: Session, seconds: float | None = None) -> Iterator[None]:
    """Abort the statements run inside after `seconds` (QUERY_SECONDS): 400 BAD_REQUEST.

    PostgreSQL: `statement_timeout` for the rest of the transaction. SQLite: a progress handler
    that stops the query between rows once the time is up.
    """
    seconds = QUERY_SECONDS if seconds is None else seconds
    connection = session.connection()
    try:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(seconds * 1000)}")
            yield
        else:
            raw: Any = connection.connection.dbapi_connection
            end = time.monotonic() + seconds
            raw.set_progress_handler(lambda: time.monotonic() > end, _SQLITE_STEPS)
            try:
                yield
            finally:
                raw.set_progress_handler(None, _SQLITE_STEPS)
    except OperationalError as e:
        text = str(e.orig).lower()
        if "interrupted" not in text and "statement timeout" not in text:
            raise
        session.rollback()
        raise BadRequest("name: listing too costly") from e
