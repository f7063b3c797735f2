"""`GET /events`: the change stream (server-sent events), resumable with `Last-Event-ID`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from azaion_server.auth.deps import Callers
from azaion_server.auth.models import CallerDirectory, authenticate
from azaion_server.deps import Sessions, provide
from azaion_server.errors import BadRequest
from azaion_server.events import models
from azaion_server.events.entities import Event
from azaion_server.events.hub import EventHub
from azaion_server.events.settings import EventSettings
from azaion_server.jwt.deps import AccessToken, Tokens, proof_request
from azaion_server.jwt.dpop import ProofRequest
from azaion_server.jwt.exceptions import InvalidToken
from azaion_server.jwt.models import TokenService
from azaion_server.jwt.schemas import TokenClaims
from azaion_server.licenses.deps import Licensing
from azaion_server.licenses.models import get_license, licensed_folders
from azaion_server.licenses.settings import LicenseSettings
from azaion_server.metrics import Metrics, OptionalMetrics
from azaion_server.vocabulary import MAX_ID, Caller, Role

log = logging.getLogger(__name__)

router = APIRouter(tags=["events"])

# Rows read per query while catching up.
BATCH = 200


@dataclass(frozen=True)
class Streaming:
    """What a stream needs: sessions of its own (it outlives the request's), the token and caller
    checks, the hub that wakes it, and the settings."""

    sessions: sessionmaker[Any]
    tokens: TokenService
    callers: CallerDirectory
    hub: EventHub
    settings: EventSettings
    licences: LicenseSettings
    metrics: Metrics | None = None


def get_streaming(
    sessions: Sessions,
    tokens: Tokens,
    callers: Callers,
    hub: Annotated[EventHub, Depends(provide(EventHub))],
    settings: Annotated[EventSettings, Depends(provide(EventSettings))],
    licences: Licensing,
    metrics: OptionalMetrics,
) -> Streaming:
    """The services of `GET /events` (a dependency)."""
    return Streaming(sessions, tokens, callers, hub, settings, licences, metrics)


@dataclass
class Subscription:
    """One open stream: whose (its token), from which id, and its lease."""

    token: str
    claims: TokenClaims
    viewer: models.Viewer
    last_id: int
    lease_id: int


def _viewer(context: Streaming, session: Session, caller: Caller) -> models.Viewer:
    folders = None
    if caller.role == Role.OPERATOR.value:
        folders = licensed_folders(get_license(session, caller), context.licences)
    return models.Viewer(nameid=caller.nameid, role=caller.role, folders=folders)


def _lease_seconds(context: Streaming) -> float:
    # Three missed heartbeats (and never under 5 s): a dead instance's leases run out soon.
    return max(5.0, 3 * context.settings.sse_ping_seconds)


def _parse_last_id(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 10 or int(value) > MAX_ID:
        raise BadRequest("Last-Event-ID must be an event id (a non-negative integer)")
    return int(value)


def subscribe(
    context: Streaming, token: str | None, proof: ProofRequest, last_id: int | None
) -> Subscription:
    """Check the token (and its DPoP proof), take a stream lease, and fix where the stream starts
    (in a thread)."""
    settings = context.settings
    with context.sessions() as session:
        claims, caller = authenticate(session, context.tokens, context.callers, token, proof)
        assert token is not None  # authenticate refuses a missing token
        viewer = _viewer(context, session, caller)
        if context.hub.prune_due():
            models.prune_events(session, settings.events_retention_seconds)
        start = models.latest_id(session) if last_id is None else last_id
        lease = models.open_stream(
            session,
            caller.nameid,
            limit=settings.sse_max_streams_per_user,
            lease_seconds=_lease_seconds(context),
        )
    return Subscription(token=token, claims=claims, viewer=viewer, last_id=start, lease_id=lease)


def _refresh(context: Streaming, subscription: Subscription) -> models.Viewer | None:
    """At a heartbeat: the caller's current view, or None when its token no longer holds."""
    with context.sessions() as session:
        try:
            # The proof was checked when the stream opened; its key is still what the token names.
            _claims, caller = authenticate(session, context.tokens, context.callers, subscription.token, None)
        except InvalidToken:
            return None
        viewer = _viewer(context, session, caller)  # before the commit, while the licence is read ahead
        models.renew_stream(session, subscription.lease_id, _lease_seconds(context))
        return viewer


def _read(context: Streaming, last_id: int) -> list[Event]:
    with context.sessions() as session:
        return models.events_after(session, last_id, BATCH)


def _close(context: Streaming, lease_id: int) -> None:
    with context.sessions() as session:
        models.close_stream(session, lease_id)


async def stream(context: Streaming, subscription: Subscription) -> AsyncIterator[ServerSentEvent]:
    """Events after `subscription.last_id` that its caller may see, then new ones as they come.

    Ends when the token expires, is revoked, or its caller is deleted or disabled (checked at
    every heartbeat), and when the client goes away.
    """
    ping = context.settings.sse_ping_seconds
    expires = float(subscription.claims.exp)

    async def reader(last_id: int) -> list[Event]:
        return await run_in_threadpool(_read, context, last_id)

    waiter = context.hub.subscribe()
    viewer = subscription.viewer
    if context.metrics is not None:
        context.metrics.streams.inc()
    try:
        yield ServerSentEvent(comment="connected")
        next_beat = time.monotonic() + ping
        # Read the table until caught up; after a wake-up, ask the process's feed (feed.py).
        woken = False
        while True:
            waiter.clear()  # before reading: a wake-up during the read is kept for the wait
            while True:
                shared = await context.hub.feed.after(subscription.last_id, reader, BATCH) if woken else None
                if shared is not None:
                    for item in shared:
                        subscription.last_id = item.id
                        if viewer.sees(item.event):
                            yield ServerSentEvent(id=str(item.id), event=item.event.type, data=item.data)
                    break
                rows = await run_in_threadpool(_read, context, subscription.last_id)
                for row in rows:
                    subscription.last_id = row.id
                    if viewer.sees(row):
                        data = json.dumps(models.message(row))
                        yield ServerSentEvent(id=str(row.id), event=row.type, data=data)
                if len(rows) < BATCH:
                    break
            left = expires - time.time()
            if left <= 0:
                return
            timeout = max(0.0, min(next_beat - time.monotonic(), left))
            woken = False
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout)
                woken = True
            if time.monotonic() >= next_beat and not context.hub.notified:
                woken = False  # a heartbeat reads the table: other SQLite processes' events
            if time.monotonic() >= next_beat:
                refreshed = await run_in_threadpool(_refresh, context, subscription)
                if refreshed is None:
                    return
                viewer = refreshed
                yield ServerSentEvent(comment="ping")
                next_beat = time.monotonic() + ping
    except SQLAlchemyError as e:
        # The database went away: end the stream; the client resumes with Last-Event-ID.
        log.warning("event stream ended: %s", type(e).__name__)
    finally:
        context.hub.unsubscribe(waiter)
        if context.metrics is not None:
            context.metrics.streams.dec()
        with anyio.CancelScope(shield=True):
            try:
                await run_in_threadpool(_close, context, subscription.lease_id)
            except SQLAlchemyError as e:  # the lease runs out by itself
                log.warning("event stream lease not released: %s", type(e).__name__)


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "the change stream"},
        400: {"description": "BAD_REQUEST: Last-Event-ID is not an event id"},
        401: {"description": "UNAUTHORIZED"},
        429: {"description": "TOO_MANY_STREAMS"},
    },
)
async def events(
    request: Request,
    context: Annotated[Streaming, Depends(get_streaming)],
    token: AccessToken,
    last_event_id: Annotated[str | None, Query(description="resume after this event id")] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    """Change events the caller may see, as server-sent events; resumes after `Last-Event-ID`.

    `: ping` comments every AZAION_SSE_PING_SECONDS; the stream ends when the token does.
    """
    start = _parse_last_id(last_event_id_header if last_event_id_header is not None else last_event_id)
    subscription = await run_in_threadpool(subscribe, context, token, proof_request(request), start)
    return EventSourceResponse(
        stream(context, subscription),
        ping=0,  # the stream sends its own heartbeats, with its checks
        sep="\n",
        headers={"Cache-Control": "no-store"},
    )
