"""The `name` filter of `GET /resources`: a regular expression that cannot take exponential time.

The database runs the pattern: PostgreSQL's engine, or Python's `re` on SQLite, which
backtracks, so that `(a+)+$` or `(a|aa)+$` against a long name that almost matches takes
exponential time. Patterns are parsed with Python's own parser and refused when a repetition
holds another repetition or an alternation (anywhere inside it, groups and lookarounds
included), when they refer back to a group, when they repeat something more than 1000 times, or
when they hold more than three repetitions in all (`a+a+a+a+$` is polynomial, but of degree
four: a minute on one name of 255 characters). What remains costs at most about a second on the
worst name; `resources.models.list_resources` also gives the whole query a deadline.
`(a|b)+` is refused too: `[ab]+` says the same without the alternation.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from azaion_server.errors import BadRequest

MAX_PATTERN_LENGTH = 128
MAX_REPEAT_COUNT = 1000
MAX_REPETITIONS = 3
# The longest a listing with a `name` filter may run.
QUERY_SECONDS = 2.0
# SQLite virtual machine steps between two looks at the clock: a row costs a dozen or so.
_SQLITE_STEPS = 16

# `re._parser` (3.11+) or `sre_parse` (3.10): private, but the parser `re` itself uses.
_sre: Any = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")
_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", _sre.MAX_REPEAT)}
_BACKREFERENCES = {_sre.GROUPREF, _sre.GROUPREF_EXISTS}
_ASSERTIONS = {_sre.ASSERT, _sre.ASSERT_NOT}
_ATOMIC = getattr(_sre, "ATOMIC_GROUP", None)


def _repetitions(items: Any) -> int:
    count = 0
    for op, av in items:
        if op in _REPEATS:
            count += (av[1] > 1) + _repetitions(av[2])
        elif op == _sre.BRANCH:
            count += sum(_repetitions(branch) for branch in av[1])
        elif op in (_sre.SUBPATTERN, *_ASSERTIONS):
            count += _repetitions(av[-1])
        elif op == _ATOMIC:
            count += _repetitions(av)
    return count


def _costly(items: Any, repeated: bool) -> bool:
    for op, av in items:
        if op in _BACKREFERENCES:
            return True
        if op in _REPEATS:
            low, high, body = av
            if low > MAX_REPEAT_COUNT or (high != _sre.MAXREPEAT and high > MAX_REPEAT_COUNT):
                return True
            if repeated or _costly(body, True):
                return True
        elif op == _sre.BRANCH:
            if repeated or any(_costly(branch, repeated) for branch in av[1]):
                return True
        elif op == _sre.SUBPATTERN:
            if _costly(av[-1], repeated):
                return True
        elif op in _ASSERTIONS:
            if _costly(av[1], repeated):
                return True
        elif op == _ATOMIC and _costly(av, repeated):
            return True
    return False


def check_pattern(pattern: str) -> str:
    """`pattern` when it is a valid and cheap regular expression; BadRequest otherwise."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise BadRequest("name: pattern too long or too costly")
    try:
        re.compile(pattern)
        parsed = _sre.parse(pattern)
    except (re.error, RecursionError, OverflowError) as e:
        raise BadRequest("name is not a valid regular expression") from e
    if _costly(parsed, False) or _repetitions(parsed) > MAX_REPETITIONS:
        raise BadRequest("name: pattern too long or too costly")
    return pattern


@contextlib.contextmanager
def deadline(session: Session, seconds: float | None = None) -> Iterator[None]:
    """Abort the statements run inside after `seconds` (QUERY_SECONDS): 400 BAD_REQUEST.

    PostgreSQL: `statement_timeout` for the rest of the transaction. SQLite: a progress handler
    that stops the query between rows once the time is up (one call of the pattern on one name
    cannot be stopped, which is what the limits above bound).
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
        raise BadRequest("name: pattern too costly") from e
