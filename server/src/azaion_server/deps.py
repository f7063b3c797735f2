"""Dependencies every module uses: the application context and a database session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from azaion_server.context import AppContext


def context_of(request: Request) -> AppContext:
    """The context `app.py` built for this application (settings, engine, services)."""
    return request.app.state.context  # type: ignore[no-any-return]


async def get_context(request: Request) -> AppContext:
    """`context_of` as a dependency (async: it does no I/O, so it costs no thread-pool hop)."""
    return context_of(request)


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; what a route does not commit is rolled back.

    Async, because opening a session does no I/O (the connection is taken at the first query,
    in the thread that runs it): that saves a thread-pool hop per request. Closing one that
    holds a connection does I/O (a rollback), so that runs in the thread pool.
    """
    session = context_of(request).sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]
