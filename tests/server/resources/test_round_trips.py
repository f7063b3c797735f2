"""The hot path's round trips: a device-bound download asks the database what it must, once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.reference.device import Device
from tests.server.devices.test_devices import api, enrol, get, login, operator  # noqa: F401
from tests.server.helpers import Api, Person, assert_error


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs inside the block."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", listen)


def test_a_download_reads_its_device_once(api: Api, operator: Person) -> None:  # noqa: F811
    device = Device()
    token = login(api, operator, device)
    assert enrol(api, token, device).status_code in (200, 201)
    assert get(api, token, device).status_code == 200  # warms the caches
    with statements() as seen:
        assert get(api, token, device).status_code == 200
    device_reads = [s for s in seen if s.startswith("SELECT") and "FROM devices" in s]
    assert len(device_reads) == 1, seen
    # The proof's jti, the caller's state, the device, the resource, the audit row.
    assert len(seen) <= 5, seen


def test_a_revoked_device_is_still_refused_after_the_read_ahead(api: Api, operator: Person) -> None:  # noqa: F811
    device = Device()
    token = login(api, operator, device)
    assert enrol(api, token, device).status_code in (200, 201)
    assert get(api, token, device).status_code == 200
    revoked = api.client.post(f"/devices/{device.id}/revoke", headers=api.admin)
    assert revoked.json()["state"] == "revoked"
    assert_error(
        get(api, token, device), 401, "DEVICE_REVOKED"
    )  # the kept device is gone with its transaction
