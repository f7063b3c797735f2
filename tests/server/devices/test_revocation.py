"""Revoking a device (`POST /devices/{id}/revoke` `{"reason"}`): the reason and time stored and
shown, the `device.revoked` event for its owner and the ApiAdmins only, and the audit rows of
enrolment, approval and revocation that `GET /audit` finds by action, device and mode."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azaion_server.devices.entities import Device as DeviceRow
from azaion_server.devices.models import owner_nameid
from azaion_server.events.entities import Event
from azaion_server.events.models import DEVICE_REVOKED, Viewer
from sqlalchemy import select

from tests.reference.device import Device
from tests.server.devices.test_devices import BASE, enrol, login
from tests.server.helpers import Api, Person, assert_error


@pytest.fixture
def api(make_client: Any) -> Api:
    """The app with its default enrolment policy and the v1 envelope off."""
    return Api(make_client(legacy_envelope=False))


def enrolled(api: Api, person: Person) -> tuple[Device, str]:
    device = Device()
    token = login(api, person, device)
    assert enrol(api, token, device).status_code == 201
    return device, token


def revoke(api: Api, device_id: int, headers: dict[str, str], body: Any = None) -> Any:
    if body is None:
        return api.client.post(f"/devices/{device_id}/revoke", headers=headers)
    return api.client.post(f"/devices/{device_id}/revoke", json=body, headers=headers)


def events(db: Any) -> list[Event]:
    with db.connect() as connection:
        rows = connection.execute(select(Event).where(Event.type == DEVICE_REVOKED).order_by(Event.id))
        return list(rows)


def audit(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = api.client.get("/audit", params=params, headers=api.admin)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def test_without_a_body_the_reason_is_lost(api: Api, clean_db: Any) -> None:
    person = api.user("Operator")
    device, _token = enrolled(api, person)
    fresh = api.client.get("/devices/all", headers=api.admin).json()["results"][0]
    assert (fresh["revoked_reason"], fresh["revoked_at"]) == (None, None)
    before = time.time()
    answer = revoke(api, device.id, api.admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["state"], body["revoked_reason"]) == ("revoked", "lost")
    assert before - 1 <= body["revoked_at"] <= time.time() + 1
    listed = api.client.get("/devices/all", headers=api.admin).json()["results"]
    assert [(d["id"], d["revoked_reason"], d["revoked_at"]) for d in listed] == [
        (device.id, "lost", body["revoked_at"])
    ]
    [event] = events(clean_db)
    assert event.subject == str(person.id)
    assert event.payload == {"device_id": device.id, "reason": "lost", "nameid": str(person.id)}


def test_a_retired_device_and_a_second_revocation(api: Api, clean_db: Any) -> None:
    person = api.user("Operator")
    device, _token = enrolled(api, person)
    first = revoke(api, device.id, api.admin, {"reason": "retired"}).json()
    assert first["revoked_reason"] == "retired"
    # Revoking again changes nothing: the first reason and time stay, no second event or row.
    again = revoke(api, device.id, api.admin, {"reason": "lost"}).json()
    assert (again["revoked_reason"], again["revoked_at"]) == ("retired", first["revoked_at"])
    assert len(events(clean_db)) == 1
    assert len(audit(api, action="device.revoked")) == 1


@pytest.mark.parametrize(
    "body", [{"reason": "stolen"}, {"reason": ""}, {"reason": 1}, {"reason": None}, ["lost"], "lost"]
)
def test_an_unknown_reason_is_refused_and_revokes_nothing(api: Api, clean_db: Any, body: Any) -> None:
    person = api.user("Operator")
    device, _token = enrolled(api, person)
    assert_error(revoke(api, device.id, api.admin, body), 400, "BAD_REQUEST")
    state = api.client.get("/devices/all", headers=api.admin).json()["results"][0]["state"]
    assert state == "active" and events(clean_db) == [] and audit(api, action="device.revoked") == []


def test_an_owner_revokes_its_own_device_and_nobody_elses(api: Api, clean_db: Any) -> None:
    owner, stranger = api.user("Operator"), api.user("Operator")
    device, token = enrolled(api, owner)
    assert_error(revoke(api, device.id, stranger.headers), 404, "NOT_FOUND")
    assert events(clean_db) == []
    url = f"{BASE}/devices/{device.id}/revoke"
    answer = api.client.post(
        f"/devices/{device.id}/revoke", json={"reason": "lost"}, headers=device.headers("POST", url, token)
    )
    assert answer.status_code == 200 and answer.json()["revoked_reason"] == "lost"
    [row] = audit(api, action="device.revoked")
    assert (row["actor"], row["actor_name"], row["device"], row["detail"]) == (
        str(owner.id),
        owner.email,
        str(device.id),
        "lost",
    )


def test_the_revocation_event_is_for_the_owner_and_api_admins(api: Api, clean_db: Any) -> None:
    person = api.user("Operator")
    device, _token = enrolled(api, person)
    revoke(api, device.id, api.admin)
    [event] = events(clean_db)
    owner = str(person.id)
    assert Viewer(nameid=owner, role="Operator", folders=frozenset()).sees(event)
    assert Viewer(nameid="1", role="ApiAdmin").sees(event)
    assert not Viewer(nameid="999", role="Operator", folders=frozenset({"models"})).sees(event)
    assert not Viewer(nameid="999", role="Admin").sees(event)  # an Admin is not an ApiAdmin
    assert not Viewer(nameid="999", role="Validator").sees(event)


def test_the_owner_of_a_device_as_a_nameid() -> None:
    assert owner_nameid(DeviceRow(user_id=12)) == "12"
    assert owner_nameid(DeviceRow(client_id=3)) == "client:3"


def test_enrolment_approval_and_revocation_are_audited(make_client: Any) -> None:
    api = Api(make_client(legacy_envelope=False, device_enrolment="approval"))
    person = api.user("Operator")
    device = Device()
    token = login(api, person, device)
    assert enrol(api, token, device).json()["state"] == "pending"
    assert enrol(api, token, device).status_code == 200  # again: the same device, no second row
    [enrolled_row] = audit(api, action="device.enrolled")
    assert (enrolled_row["actor"], enrolled_row["device"], enrolled_row["detail"]) == (
        str(person.id),
        str(device.id),
        "pending",
    )
    assert enrolled_row["mode"] is None and enrolled_row["address"] == "testclient"
    assert api.client.post(f"/devices/{device.id}/approve", headers=api.admin).json()["state"] == "active"
    assert api.client.post(f"/devices/{device.id}/approve", headers=api.admin).status_code == 200
    admin = api.admin_person()
    [approved] = audit(api, action="device.approved")
    assert (approved["actor"], approved["actor_name"], approved["device"]) == (
        str(admin.id),
        admin.email,
        str(device.id),
    )
    revoke(api, device.id, api.admin, {"reason": "retired"})
    [revoked] = audit(api, action="device.revoked")
    assert (revoked["actor"], revoked["device"], revoked["detail"]) == (
        str(admin.id),
        str(device.id),
        "retired",
    )
    # The device filter finds all three, newest first; the mode filter none of them.
    actions = [r["action"] for r in audit(api, device=str(device.id))]
    assert actions == ["device.revoked", "device.approved", "device.enrolled"]
    assert audit(api, device=str(device.id), mode="online") == []
    # The logins: the one of `api.user`, then the device's own (DPoP-bound).
    assert [r["action"] for r in audit(api, actor=str(person.id))] == ["device.enrolled", "login", "login"]


def test_an_auto_enrolment_is_audited_as_active(api: Api) -> None:
    person = api.user("Operator")
    device, _token = enrolled(api, person)
    [row] = audit(api, action="device.enrolled")
    assert (row["device"], row["detail"]) == (str(device.id), "active")
    assert audit(api, action="device.approved") == []
