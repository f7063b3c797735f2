"""Dependencies every module uses: a database session, the client's address and services.

`app.py` keeps the application's one instance of each service in `app.state.services`, keyed
by its class (`AppContext.services`); `provide(TokenService)` is the dependency that answers
it. Packages thereby name the services they need without importing the context that builds
them, which sits above every package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from azaion_server.vocabulary import ChangeLog

T = TypeVar("T")


def service(request: Request, kind: type[T]) -> T:
    """The application's instance of `kind`."""
    return cast(T, request.app.state.services[kind])


def provide(kind: type[T]) -> Callable[[Request], T]:
    """A dependency that answers the application's instance of `kind`."""

    def get(request: Request) -> T:
        return service(request, kind)

    get.__name__ = f"get_{kind.__name__}"
    return get


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; what a route does not commit is rolled back."""
    with service(request, sessionmaker)() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
Sessions = Annotated[sessionmaker[Any], Depends(provide(sessionmaker))]


def client_address(request: Request) -> str | None:
    """The address the request came from (what login throttling counts per)."""
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]


# Where users, clients and resources record their changes (`events.models.EventLog`).
Changes = Annotated[ChangeLog, Depends(provide(ChangeLog))]
