"""Events below the routes: who sees what, stream leases, pruning, the hub."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest
from azaion_server.db import make_sessionmaker
from azaion_server.events import models
from azaion_server.events.entities import Event, EventStream
from azaion_server.events.exceptions import TooManyStreams
from azaion_server.events.hub import EventHub
from sqlalchemy import func, select, update

CREATED, UPDATED, PUBLISHED, DELETED = (
    models.RESOURCE_CREATED,
    models.RESOURCE_UPDATED,
    models.RESOURCE_PUBLISHED,
    models.RESOURCE_DELETED,
)


def _event(
    type_: str,
    *,
    published: bool = True,
    alive: bool = True,
    was: tuple[bool, bool] | None = None,
    folder: str = "models",
    owner: str | None = "1",
) -> Event:
    return Event(
        type=type_,
        folder=folder,
        owner=owner,
        published=published,
        alive=alive,
        was_published=was[0] if was else None,
        was_alive=was[1] if was else None,
        payload={},
    )


OPERATOR = models.Viewer(nameid="9", role="Operator", folders=frozenset({"models"}))
UNLICENSED = models.Viewer(nameid="9", role="Operator", folders=frozenset())
VALIDATOR = models.Viewer(nameid="8", role="Validator")
OWNER = models.Viewer(nameid="1", role="ResourceUploader")
UPLOADER = models.Viewer(nameid="7", role="ResourceUploader")
ADMIN = models.Viewer(nameid="6", role="Admin")
GHOST = models.Viewer(nameid="5", role="Ghost")


@pytest.mark.parametrize(
    ("viewer", "event", "sees"),
    [
        (OPERATOR, _event(CREATED), True),
        (OPERATOR, _event(CREATED, published=False), False),
        (OPERATOR, _event(CREATED, folder="maps"), False),
        (UNLICENSED, _event(CREATED), False),
        (OPERATOR, _event(UPDATED, published=False, was=(False, True)), False),
        (OPERATOR, _event(PUBLISHED, published=True, was=(False, True)), True),
        (OPERATOR, _event(PUBLISHED, published=False, was=(True, True)), True),  # withdrawn: drop it
        (OPERATOR, _event(DELETED, alive=False, was=(True, True)), True),  # deleted: drop it
        (OPERATOR, _event(DELETED, published=False, alive=False, was=(False, True)), False),
        (OPERATOR, _event(UPDATED, was=(True, False)), True),  # revived
        (VALIDATOR, _event(CREATED, published=False), True),
        (VALIDATOR, _event(DELETED, published=False, alive=False, was=(False, True)), True),
        (VALIDATOR, _event(PUBLISHED, alive=False, was=(False, False)), False),
        (OWNER, _event(CREATED, published=False), True),
        (OWNER, _event(PUBLISHED, alive=False, was=(False, False)), True),
        (UPLOADER, _event(CREATED, published=False), False),
        (UPLOADER, _event(CREATED), True),
        (UPLOADER, _event(CREATED, owner=None), True),
        (ADMIN, _event(PUBLISHED, published=False, alive=False, was=(True, False)), True),
        (GHOST, _event(CREATED), False),
    ],
)
def test_who_sees_a_resource_event(viewer: models.Viewer, event: Event, sees: bool) -> None:
    assert viewer.sees(event) is sees


def test_who_sees_a_hardware_reset() -> None:
    reset = Event(type=models.HARDWARE_RESET, subject="9", payload={})
    assert OPERATOR.sees(reset) and not VALIDATOR.sees(reset) and not ADMIN.sees(reset)
    assert models.Viewer(nameid="client:9", role="Operator", folders=frozenset()).sees(reset) is False
    assert models.Viewer(nameid="3", role="ApiAdmin").sees(reset)


def test_who_sees_a_device_revocation() -> None:
    revoked = Event(type=models.DEVICE_REVOKED, subject="9", payload={}, folder=None)
    assert OPERATOR.sees(revoked) and not VALIDATOR.sees(revoked) and not ADMIN.sees(revoked)
    assert models.Viewer(nameid="client:9", role="Operator", folders=frozenset()).sees(revoked) is False
    assert models.Viewer(nameid="3", role="ApiAdmin").sees(revoked)


def test_a_device_revocation_is_recorded_for_its_owner(clean_db) -> None:
    sessions = make_sessionmaker(clean_db)
    with sessions() as session:
        models.EventLog().device_revoked(session, device_id=4, reason="retired", owner="client:2")
        session.commit()
        [event] = models.events_after(session, 0, 10)
    assert (event.type, event.subject) == ("device.revoked", "client:2")
    assert models.message(event)["type"] == "device.revoked"
    assert event.payload == {"device_id": 4, "reason": "retired", "nameid": "client:2"}


def test_leases_cap_renew_and_expire(clean_db) -> None:
    sessions = make_sessionmaker(clean_db)
    with sessions() as session:
        first = models.open_stream(session, "7", limit=2, lease_seconds=60)
        models.open_stream(session, "7", limit=2, lease_seconds=60)
        with pytest.raises(TooManyStreams) as refused:
            models.open_stream(session, "7", limit=2, lease_seconds=60)
        assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "60"}
        models.open_stream(session, "client:7", limit=2, lease_seconds=60)  # another caller
        assert session.scalar(select(func.count()).select_from(EventStream)) == 3
        models.close_stream(session, first)
        third = models.open_stream(session, "7", limit=2, lease_seconds=60)
        # A lease that was not renewed runs out, and gives its place back.
        past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        session.execute(update(EventStream).where(EventStream.id == third).values(expires_at=past))
        session.commit()
        fourth = models.open_stream(session, "7", limit=2, lease_seconds=60)
        models.renew_stream(session, fourth, 120)
        expires = session.scalar(select(EventStream.expires_at).where(EventStream.id == fourth))
        assert expires > dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=100)
        # Expired leases are cleared.
        assert session.scalar(select(func.count()).where(EventStream.id == third)) == 0


def test_streams_open_at_once_respect_the_cap(clean_db) -> None:
    sessions = make_sessionmaker(clean_db)
    start = threading.Barrier(6)
    outcomes: list[bool] = []

    def open_one() -> None:
        start.wait()
        with sessions() as session:
            try:
                models.open_stream(session, "racer", limit=3, lease_seconds=60)
                outcomes.append(True)
            except TooManyStreams:
                outcomes.append(False)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 3


def test_old_events_are_pruned(clean_db) -> None:
    sessions = make_sessionmaker(clean_db)
    with sessions() as session:
        old = Event(type=models.HARDWARE_RESET, subject="1", payload={})
        old.at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)
        session.add(old)
        session.add(
            Event(type=models.HARDWARE_RESET, subject="1", payload={}, at=dt.datetime.now(dt.timezone.utc))
        )
        session.commit()
        newest = models.latest_id(session)
        models.prune_events(session, 7 * 24 * 3600)
        assert [e.id for e in models.events_after(session, 0, 10)] == [newest]
        assert models.latest_id(session) == newest
    with sessions() as session:
        session.execute(Event.__table__.delete())
        session.commit()
        assert models.latest_id(session) == 0


def test_the_hub_wakes_its_subscribers_from_any_thread() -> None:
    hub = EventHub()

    async def main() -> bool:
        waiter = hub.subscribe()
        assert hub.subscribers == 1 and "subscribers=1" in repr(hub)
        threading.Thread(target=hub.wake).start()
        await asyncio.wait_for(waiter.wait(), 2)
        hub.unsubscribe(waiter)
        hub.unsubscribe(waiter)  # twice is harmless
        return hub.subscribers == 0

    assert asyncio.run(main())


def test_a_subscriber_whose_loop_closed_is_skipped() -> None:
    hub = EventHub()

    async def subscribe() -> None:
        hub.subscribe()

    asyncio.run(subscribe())  # the loop closes with the waiter still registered
    hub.wake()
    hub.stop()  # no listener: nothing to stop


def test_the_first_subscriber_starts_the_listener(db_engine) -> None:
    hub = EventHub()
    hub.start(db_engine)
    assert hub._listener is None  # nobody listens yet

    async def subscribe() -> None:
        hub.unsubscribe(hub.subscribe())
        hub.unsubscribe(hub.subscribe())

    asyncio.run(subscribe())
    listener = hub._listener
    assert (listener is not None) == (db_engine.dialect.name == "postgresql")
    if listener is not None:
        assert listener.listening.wait(5)
        assert "listening=True" in repr(listener)
    hub.stop()
    assert hub._listener is None
