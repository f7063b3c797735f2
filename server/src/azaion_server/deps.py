"""Dependencies every module uses: the application context and a database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from azaion_server.context import AppContext


def context_of(request: Request) -> AppContext:
    """The context `app.py` built for this application (settings, engine, services)."""
    return request.app.state.context  # type: ignore[no-any-return]


async def get_context(request: Request) -> AppContext:
    """`context_of` as a dependency (async: it does no I/O, so it costs no thread-pool hop)."""
    return context_of(request)


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; what a route does not commit is rolled back."""
    with context_of(request).sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
