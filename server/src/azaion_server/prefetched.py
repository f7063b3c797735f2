"""Answers read ahead for this session's checks, so that each check need not ask the database.

`caller_state.prefetch` reads in one query what the checks of an authenticated request ask one
after the other (is the token revoked, the caller, its licence); the checks then `recall` the
answer here and query only when nothing was read ahead. What is remembered lives in
`session.info` and is forgotten at every commit and rollback of the session, so a check never
sees an answer older than its own transaction.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy.orm import Session

_KEY = "azaion_prefetched"
# In `session.info` (the sessionmaker puts it there): the function that reads ahead.
READER = "azaion_read_ahead"
MISSING = object()


def read_ahead(session: Session, claims: Any) -> None:
    """Run the session's reader for verified token claims (`caller_state.prefetch`), if it has one.

    The token check calls this; the reader lives above every package (it knows users, clients
    and licences), so it is handed over through the session rather than imported.
    """
    reader = session.info.get(READER)
    if reader is not None:
        reader(session, claims)


def remember(session: Session, kind: str, key: Hashable, value: Any) -> None:
    """Keep `value` as the answer to (`kind`, `key`) for the rest of this transaction."""
    session.info.setdefault(_KEY, {})[(kind, key)] = value


def recall(session: Session, kind: str, key: Hashable) -> Any:
    """The answer kept for (`kind`, `key`), or MISSING."""
    return session.info.get(_KEY, {}).get((kind, key), MISSING)


def forget(session: Session, *_args: Any) -> None:
    """Drop every kept answer (hooked to the sessions' commits and rollbacks)."""
    session.info.pop(_KEY, None)
