"""Dependencies every module uses: a database session, the client's address and services.

`app.py` keeps the application's one instance of each service in `app.state.services`, keyed
by its class (`AppContext.services`); `provide(TokenService)` is the dependency that answers
it. Packages thereby name the services they need without importing the context that builds
them, which sits above every package.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from azaion_server.vocabulary import AuditTrail, ChangeLog

T = TypeVar("T")


def service(request: Request, kind: type[T]) -> T:
    """The application's instance of `kind`."""
    return cast(T, request.app.state.services[kind])


def provide(kind: type[T]) -> Callable[[Request], T]:
    """A dependency that answers the application's instance of `kind`."""

    # Async: it does no I/O, and a plain `def` would cost a thread-pool hop per request.
    async def get(request: Request) -> T:
        return service(request, kind)

    get.__name__ = f"get_{kind.__name__}"
    return get


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; what a route does not commit is rolled back.

    Async, because opening a session does no I/O (the connection is taken at the first query,
    in the thread that runs it): that saves a thread-pool hop per request. Closing one that
    holds a connection does I/O (a rollback), so that runs in the thread pool.
    """
    session = service(request, sessionmaker)()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]
Sessions = Annotated[sessionmaker[Any], Depends(provide(sessionmaker))]


def client_address(request: Request) -> str | None:
    """The address the request came from (what login throttling counts per)."""
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]


# Where users, clients and resources record their changes (`events.models.EventLog`).
Changes = Annotated[ChangeLog, Depends(provide(ChangeLog))]
# Where packages below the audit package record audit rows (`audit.models.AuditLog`).
Audit = Annotated[AuditTrail, Depends(provide(AuditTrail))]
