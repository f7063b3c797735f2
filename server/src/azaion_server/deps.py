"""Dependencies every module uses: the application context and a database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from azaion_server.context import AppContext


def get_context(request: Request) -> AppContext:
    """The context `app.py` built for this application (settings, engine, services)."""
    return request.app.state.context  # type: ignore[no-any-return]


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; what a route does not commit is rolled back."""
    with get_context(request).sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
