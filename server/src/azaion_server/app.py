"""The FastAPI application: routers, the one mapping from exceptions to answers, start-up."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from azaion_server import __version__
from azaion_server.audit.routes import router as audit_router
from azaion_server.clients.routes import auth_router as handshake_router
from azaion_server.clients.routes import router as clients_router
from azaion_server.context import AppContext
from azaion_server.db import migrate
from azaion_server.devices.routes import router as devices_router
from azaion_server.docs.routes import install as install_docs
from azaion_server.errors import ApiError, Internal, TooLarge
from azaion_server.events.routes import router as events_router
from azaion_server.jwt.keys import NoSigningKey
from azaion_server.jwt.routes import router as jwt_router
from azaion_server.licenses.routes import router as licenses_router
from azaion_server.metrics import install as install_metrics
from azaion_server.publishers.routes import router as publishers_router
from azaion_server.resources.cdn import ensure_bucket
from azaion_server.resources.routes import router as resources_router
from azaion_server.settings import Settings
from azaion_server.signing.routes import router as signing_router
from azaion_server.users.models import bootstrap_admin
from azaion_server.users.routes import auth_router as login_router
from azaion_server.users.routes import router as users_router

log = logging.getLogger("azaion_server")

# Codes for the errors Starlette raises itself (unknown route, wrong method, ...).
_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "TOO_LARGE",
}


# JSON bodies are a few hundred bytes; only the upload route, which streams, may send more.
MAX_JSON_BODY_BYTES = 1024 * 1024
_UPLOAD_PATH = re.compile(r"^/resources/[^/]+$")
_UPLOAD_METHODS = frozenset({"POST", "PUT"})


class BodyLimit:
    """Refuse request bodies above `limit` bytes before they are read into memory.

    A declared `Content-Length` above the limit answers 413 at once; a chunked body that grows
    past it is cut off (FastAPI then answers 400). The upload route is exempt: it streams its
    body and applies AZAION_MAX_UPLOAD_BYTES itself (`POST` and `PUT`).
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_JSON_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope["method"] in _UPLOAD_METHODS and _UPLOAD_PATH.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await error_response(TooLarge("the request body is too large"))(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise TooLarge("the request body is too large")
            return message

        await self.app(scope, limited, send)


class Health(BaseModel):
    """`GET /health`."""

    status: str = "ok"


class ErrorBody(BaseModel):
    """Every error answer (docs/protocol.md)."""

    success: bool = False
    code: str
    message: str


# What any route may answer besides its own success, documented on every operation; FastAPI's
# 422 is never answered (validation errors are 400) and is dropped from the schema.
_ERROR_STATUSES = {
    "400": "BAD_REQUEST or INVALID_NAME: malformed body, query or name",
    "401": "UNAUTHORIZED (or INVALID_CREDENTIALS)",
    "403": "FORBIDDEN, HARDWARE_MISMATCH or a licence code",
    "404": "NOT_FOUND",
    "413": "TOO_LARGE",
    "429": "TOO_MANY_ATTEMPTS or TOO_MANY_STREAMS",
    "500": "INTERNAL",
}


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the error answers the server really gives."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ErrorBody.model_json_schema()
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, description in _ERROR_STATUSES.items():
                answer = responses.setdefault(status, {"description": description})
                answer.setdefault(
                    "content", {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                )
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def error_response(error: ApiError) -> JSONResponse:
    """The JSON body of docs/protocol.md for an error."""
    return JSONResponse(
        status_code=error.status,
        content={"success": False, "code": error.code, "message": error.message},
        headers=error.headers or None,
    )


def _validation_message(exc: RequestValidationError) -> str:
    # Field locations and pydantic's wording only: never the input, which may be a password.
    parts = []
    for error in exc.errors()[:3]:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{location}: {error.get('msg', 'invalid')}" if location else error.get("msg", ""))
    return "invalid request: " + "; ".join(parts) if parts else "invalid request"


def _allowed_methods(request: Request) -> str:
    # From the OpenAPI paths (one entry per path, every method): FastAPI keeps included routers
    # as objects of its own, and the paths say the same in a documented form.
    app = request.app
    table: list[tuple[re.Pattern[str], str]] | None = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = []
        for path, operations in app.openapi().get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
            table.append((pattern, ", ".join(sorted(method.upper() for method in operations))))
        app.state.allowed_methods = table
    return next((methods for pattern, methods in table if pattern.match(request.url.path)), "")


def install_error_handlers(app: FastAPI) -> None:
    """The one place where exceptions become HTTP answers."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(ApiError(_validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own: unknown route, wrong method. Its `detail` may be anything: not shown.
        messages = {404: "no such route", 405: "method not allowed"}
        # A 405 lists what the path allows (RFC 9110): every route of the path, since FastAPI
        # has one route per method and Starlette's own answer names only the first one's.
        allow = _allowed_methods(request) if exc.status_code == 405 else ""
        error = ApiError(
            messages.get(exc.status_code, "request rejected"),
            {"Allow": allow} if allow else None,
            status=exc.status_code,
            code=_HTTP_CODES.get(exc.status_code, "BAD_REQUEST"),
        )
        return error_response(error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unhandled %s on %s %s",
            type(exc).__name__,
            request.method,
            request.url.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        return error_response(Internal())


def startup(context: AppContext) -> None:
    """Migrate the database, check (or make) the signing key, create the first ApiAdmin and the
    bucket when missing."""
    settings = context.settings
    migrate(context.engine)
    with context.sessions() as session:
        try:
            context.tokens.keys.ensure(session)
        except NoSigningKey:
            raise RuntimeError(
                "the current signing key does not open under AZAION_JWT_SECRET: set the secret it "
                "was sealed under, or make a new key with `azaion-server --rotate-signing-key`"
            ) from None
    admin = settings.users
    if admin.admin_email and admin.admin_password:
        with context.sessions() as session:
            created = bootstrap_admin(
                session,
                context.passwords,
                admin.admin_email,
                admin.admin_password.get_secret_value(),
            )
        if created:
            log.info("created the first ApiAdmin (%s)", admin.admin_email.strip().lower())
    if ensure_bucket(settings.resources):
        context.big_parts.client()  # boto3's first client takes a second: at start, not in an upload


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for `settings` (read from the environment when not given)."""
    settings = settings or Settings.load()
    context = AppContext.build(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(startup, context)
        context.events.start(context.engine)
        try:
            yield
        finally:
            await run_in_threadpool(context.events.stop)
            context.engine.dispose()
            if context.metrics is not None:
                context.metrics.stop()

    app = FastAPI(
        title="azaion Resource API",
        version=__version__,
        description="Users, machine clients, JWT, hardware binding, licences, encrypted resources "
        "and their change events.",
        lifespan=lifespan,
        docs_url=None,  # docs.routes serves /docs and /redoc without the internet
        redoc_url=None,
    )
    app.state.context = context
    app.state.services = context.services()
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    app.add_middleware(BodyLimit)
    if context.metrics is not None:
        install_metrics(app, context.metrics)
    install_error_handlers(app)
    routers = (
        login_router,
        handshake_router,
        jwt_router,
        users_router,
        clients_router,
        licenses_router,
        resources_router,
        publishers_router,
        events_router,
        signing_router,
        audit_router,
        devices_router,
    )
    for router in routers:
        app.include_router(router)
    install_docs(app)

    @app.get("/health", response_model=Health, tags=["health"])
    def health() -> Health:
        """Liveness: the process answers."""
        return Health()

    return app
