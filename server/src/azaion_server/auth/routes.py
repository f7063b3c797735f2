"""The route class of the administration routes: any failure answers a bare 400 BAD_REQUEST.

Saying why a request failed (no such user, email taken, ...) would let a stolen admin token
map the user base; the seed's policy is to answer a bare 400. Authentication (401) and
authorisation (403) are not errors of the request and still answer as such. `users` and
`clients` route their administration through it; their logins (`POST /login`, `POST /auth`)
live with them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from azaion_server.errors import ApiError, BadRequest, Forbidden, Unauthorized


class OpaqueErrorsRoute(APIRoute):
    """A route whose every error but 401/403 becomes a bare 400 BAD_REQUEST."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def opaque(request: Request) -> Response:
            try:
                return await handler(request)
            except (Unauthorized, Forbidden):
                raise
            except (ApiError, RequestValidationError) as e:
                raise BadRequest("request rejected") from e

        return opaque
