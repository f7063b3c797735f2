"""`GET /events`: the change stream (server-sent events), resumable with `Last-Event-ID`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import anyio
from fastapi import APIRouter, Header, Query
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from azaion_server.auth.deps import load_caller
from azaion_server.caller_state import prefetch
from azaion_server.callers import Caller
from azaion_server.deps import ContextDep
from azaion_server.errors import MAX_ID, BadRequest
from azaion_server.events import models
from azaion_server.events.entities import Event
from azaion_server.jwt.deps import BearerCredentials
from azaion_server.jwt.exceptions import InvalidToken
from azaion_server.jwt.models import is_revoked
from azaion_server.jwt.schemas import TokenClaims
from azaion_server.licenses.models import get_license, licensed_folders
from azaion_server.users.entities import Role

if TYPE_CHECKING:
    from azaion_server.context import AppContext

log = logging.getLogger(__name__)

router = APIRouter(tags=["events"])

# Rows read per query while catching up.
BATCH = 200


@dataclass
class Subscription:
    """One open stream: whose, from which id, and its lease."""

    claims: TokenClaims
    viewer: models.Viewer
    last_id: int
    lease_id: int


def _viewer(context: AppContext, session: Session, caller: Caller) -> models.Viewer:
    folders = None
    if caller.role == Role.OPERATOR.value:
        folders = licensed_folders(get_license(session, caller), context.settings.licenses)
    return models.Viewer(nameid=caller.nameid, role=caller.role, folders=folders)


def _lease_seconds(context: AppContext) -> float:
    # Three missed heartbeats (and never under 5 s): a dead instance's leases run out soon.
    return max(5.0, 3 * context.settings.events.sse_ping_seconds)


def _parse_last_id(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 10 or int(value) > MAX_ID:
        raise BadRequest("Last-Event-ID must be an event id (a non-negative integer)")
    return int(value)


def subscribe(context: AppContext, token: str | None, last_id: int | None) -> Subscription:
    """Check the token, take a stream lease, and fix where the stream starts (in a thread)."""
    if token is None:
        raise InvalidToken()
    claims = context.tokens.decode(token)
    settings = context.settings.events
    with context.sessions() as session:
        prefetch(session, claims)
        if is_revoked(session, claims.jti):
            raise InvalidToken()
        caller = load_caller(session, claims)
        viewer = _viewer(context, session, caller)
        if context.events.prune_due():
            models.prune_events(session, settings.events_retention_seconds)
        start = models.latest_id(session) if last_id is None else last_id
        lease = models.open_stream(
            session,
            caller.nameid,
            limit=settings.sse_max_streams_per_user,
            lease_seconds=_lease_seconds(context),
        )
    return Subscription(claims=claims, viewer=viewer, last_id=start, lease_id=lease)


def _refresh(context: AppContext, subscription: Subscription) -> models.Viewer | None:
    """At a heartbeat: the caller's current view, or None when its token no longer holds."""
    with context.sessions() as session:
        prefetch(session, subscription.claims)
        if is_revoked(session, subscription.claims.jti):
            return None
        try:
            caller = load_caller(session, subscription.claims)
        except InvalidToken:
            return None
        viewer = _viewer(context, session, caller)  # before the commit, while the licence is read ahead
        models.renew_stream(session, subscription.lease_id, _lease_seconds(context))
        return viewer


def _read(context: AppContext, last_id: int) -> list[Event]:
    with context.sessions() as session:
        return models.events_after(session, last_id, BATCH)


def _close(context: AppContext, lease_id: int) -> None:
    with context.sessions() as session:
        models.close_stream(session, lease_id)


async def stream(context: AppContext, subscription: Subscription) -> AsyncIterator[ServerSentEvent]:
    """Events after `subscription.last_id` that its caller may see, then new ones as they come.

    Ends when the token expires, is revoked, or its caller is deleted or disabled (checked at
    every heartbeat), and when the client goes away.
    """
    ping = context.settings.events.sse_ping_seconds
    expires = float(subscription.claims.exp)

    async def reader(last_id: int) -> list[Event]:
        return await run_in_threadpool(_read, context, last_id)

    waiter = context.events.subscribe()
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
                shared = (
                    await context.events.feed.after(subscription.last_id, reader, BATCH) if woken else None
                )
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
            if time.monotonic() >= next_beat and not context.events.notified:
                woken = False  # a heartbeat reads the table: other SQLite processes' events
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
        context.events.unsubscribe(waiter)
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
    context: ContextDep,
    credentials: BearerCredentials,
    last_event_id: Annotated[str | None, Query(description="resume after this event id")] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    """Change events the caller may see, as server-sent events; resumes after `Last-Event-ID`.

    `: ping` comments every AZAION_SSE_PING_SECONDS; the stream ends when the token does.
    """
    start = _parse_last_id(last_event_id_header if last_event_id_header is not None else last_event_id)
    token = credentials.credentials if credentials is not None else None
    subscription = await run_in_threadpool(subscribe, context, token, start)
    return EventSourceResponse(
        stream(context, subscription),
        ping=0,  # the stream sends its own heartbeats, with its checks
        sep="\n",
        headers={"Cache-Control": "no-store"},
    )
