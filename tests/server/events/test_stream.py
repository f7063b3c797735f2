"""`GET /events` over real HTTP: format, resuming, heartbeats, who sees what, when a stream ends."""

from __future__ import annotations

import shutil
import subprocess
import time

import jwt
import pytest

from tests.server.events.conftest import PING, Stream
from tests.server.helpers import HW1, HW2, assert_error, bearer

RESULT_KEYS = {
    "id",
    "folder",
    "name",
    "size",
    "uploaded",
    "modified",
    "category",
    "published",
    "alive",
    "checksum",
}


def test_errors_before_the_stream_are_json(client) -> None:
    from tests.server.helpers import Api

    api = Api(client)
    assert_error(client.get("/events"), 401, "UNAUTHORIZED")
    assert_error(client.get("/events", headers=bearer("not.a.token")), 401, "UNAUTHORIZED")
    for bad in ("x", "-1", "1.5", "99999999999"):
        assert_error(client.get("/events", headers={**api.admin, "Last-Event-ID": bad}), 400, "BAD_REQUEST")
        assert_error(
            client.get("/events", params={"last_event_id": bad}, headers=api.admin), 400, "BAD_REQUEST"
        )
    person = api.user("Operator")
    client.post("/logout", headers=person.headers)
    assert_error(client.get("/events", headers=person.headers), 401, "UNAUTHORIZED")


def test_format_and_heartbeats(live) -> None:
    api = live.api
    with live.stream(api.admin) as stream:
        assert stream.content_type == "text/event-stream; charset=utf-8"
        created = api.upload("models", "m.bin", b"data", category="detector").json()["resource"]
        event = stream.next()
        assert event["event"] == "resource.created"
        data = event["data"]
        assert int(event["id"]) == data["id"]
        assert set(data) == {"id", "type", "at", "resource"}
        assert data["type"] == "resource.created" and isinstance(data["at"], float)
        assert set(data["resource"]) >= RESULT_KEYS and data["resource"] == created
        time.sleep(3 * PING)
        assert stream.comments[0] == "connected"
        assert stream.comments.count("ping") >= 2


def test_every_type_in_order(live) -> None:
    api = live.api
    person = api.user("Operator")
    api.set_license(person, ["models"])
    with live.stream(api.admin) as stream:
        api.upload("models", "m.bin", b"one", draft="true")
        api.upload("models", "m.bin", b"two", draft="true")
        api.client.post("/resources/models/m.bin/publish", json={"published": True}, headers=api.admin)
        api.client.delete("/resources/models/m.bin", headers=api.admin)
        api.client.delete(f"/users/{person.id}/hardware", headers=api.admin)
        events = stream.take(5)
    assert [e["event"] for e in events] == [
        "resource.created",
        "resource.updated",
        "resource.published",
        "resource.deleted",
        "user.hardware_reset",
    ]
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert events[1]["data"]["resource"]["size"] == 3
    assert events[2]["data"]["resource"]["published"] is True
    assert events[3]["data"]["resource"]["alive"] is False
    reset = events[4]["data"]
    assert (reset["user_id"], reset["email"], reset["nameid"]) == (person.id, person.email, str(person.id))
    assert "resource" not in reset


def test_resume_with_last_event_id(live) -> None:
    api = live.api
    for name in ("a.bin", "b.bin", "c.bin"):
        api.upload("models", name, b"x")
    with live.stream(api.admin, params={"last_event_id": "0"}) as everything:
        first = everything.take(3)
    assert [e["data"]["resource"]["name"] for e in first] == ["a.bin", "b.bin", "c.bin"]
    after_first = first[0]["id"]
    with live.stream({**api.admin, "Last-Event-ID": after_first}) as resumed:
        assert [e["id"] for e in resumed.take(2)] == [first[1]["id"], first[2]["id"]]
        assert resumed.nothing_within(3 * PING)
    with live.stream(api.admin, params={"last_event_id": first[1]["id"]}) as by_query:
        assert by_query.next()["id"] == first[2]["id"]
    # The header wins over the query (it is what a reconnecting EventSource sends).
    with live.stream({**api.admin, "Last-Event-ID": first[1]["id"]}, params={"last_event_id": "0"}) as both:
        assert both.next()["id"] == first[2]["id"]
    # Without either, a stream starts at what comes next.
    with live.stream(api.admin) as fresh:
        assert fresh.nothing_within(3 * PING)
        api.upload("models", "d.bin", b"x")
        assert fresh.next()["data"]["resource"]["name"] == "d.bin"


def test_catching_up_reads_in_batches(live, monkeypatch: pytest.MonkeyPatch) -> None:
    import azaion_server.events.routes as routes

    monkeypatch.setattr(routes, "BATCH", 2)
    api = live.api
    for i in range(5):
        api.upload("models", f"{i}.bin", b"x")
    with live.stream(api.admin, params={"last_event_id": "0"}) as stream:
        names = [e["data"]["resource"]["name"] for e in stream.take(5)]
    assert names == [f"{i}.bin" for i in range(5)]


def test_an_operator_sees_only_what_it_may_read(live) -> None:
    api = live.api
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    with live.stream(operator.headers) as stream:
        api.upload("maps", "city.map", b"x")  # another folder: never
        api.upload("models", "draft.bin", b"x", draft="true")  # a draft: not yet
        api.upload("models", "draft.bin", b"y", draft="true")  # still a draft
        api.client.post("/resources/models/draft.bin/publish", json={"published": True}, headers=api.admin)
        api.upload("models", "live.bin", b"x")
        api.client.post("/resources/models/live.bin/publish", json={"published": False}, headers=api.admin)
        api.client.delete("/resources/models/draft.bin", headers=api.admin)  # it could read it: told
        api.client.delete("/resources/models/live.bin", headers=api.admin)  # withdrawn already: not told
        api.client.delete("/resources/maps/city.map", headers=api.admin)
        seen = [(e["event"], e["data"]["resource"]["name"]) for e in stream.take(4)]
        assert stream.nothing_within(3 * PING)
    assert seen == [
        ("resource.published", "draft.bin"),
        ("resource.created", "live.bin"),
        ("resource.published", "live.bin"),  # the withdrawal: it held the resource
        ("resource.deleted", "draft.bin"),
    ]


def test_an_uploader_sees_its_own_drafts(live) -> None:
    api = live.api
    mine, other = api.user("ResourceUploader"), api.user("ResourceUploader")
    with live.stream(mine.headers) as stream:
        api.upload("models", "other.bin", b"x", headers=other.headers, draft="true")
        api.upload("models", "mine.bin", b"x", headers=mine.headers, draft="true")
        assert stream.next()["data"]["resource"]["name"] == "mine.bin"
        assert stream.nothing_within(3 * PING)


def test_hardware_resets_reach_the_user_and_api_admins(live) -> None:
    api = live.api
    operator, other, admin = api.user("Operator"), api.user("Operator"), api.user("Admin")
    drone = api.machine("Operator")
    with (
        live.stream(operator.headers) as own,
        live.stream(other.headers) as others,
        live.stream(admin.headers) as admins,
        live.stream(api.admin) as api_admins,
        live.stream(drone.headers) as machine,
    ):
        api.client.delete(f"/users/{operator.id}/hardware", headers=api.admin)
        api.client.delete(f"/clients/{drone.name}/hardware", headers=api.admin)
        assert own.next()["data"]["user_id"] == operator.id
        assert [e["data"]["nameid"] for e in api_admins.take(2)] == [str(operator.id), machine_nameid(drone)]
        reset = machine.next()["data"]
        assert (reset["client_name"], reset["nameid"]) == (drone.name, machine_nameid(drone))
        assert set(reset) == {"id", "type", "at", "client_id", "client_name", "nameid"}
        assert others.nothing_within(2 * PING) and admins.nothing_within(PING) and own.nothing_within(PING)


def test_a_device_revocation_reaches_its_owner_and_api_admins(live) -> None:
    from tests.reference.device import Device

    api = live.api
    owner, other, admin = api.user("Operator"), api.user("Operator"), api.user("Admin")
    device = Device()
    login = api.client.post(
        "/login",
        json={"email": owner.email, "password": owner.password},
        headers={"DPoP": device.proof("POST", f"{live.url}/login")},
    )
    token = login.json()["token"]
    enrolled = api.client.post(
        "/devices", json=device.enrol_body(HW1), headers=device.headers("POST", f"{live.url}/devices", token)
    )
    assert enrolled.status_code == 201, enrolled.text
    device_id = enrolled.json()["id"]
    with (
        live.stream(device.headers("GET", f"{live.url}/events", token)) as on_the_device,
        live.stream(owner.headers) as own,
        live.stream(other.headers) as others,
        live.stream(admin.headers) as admins,
        live.stream(api.admin) as api_admins,
    ):
        revoked = api.client.post(f"/devices/{device_id}/revoke", json={"reason": "lost"}, headers=api.admin)
        assert revoked.status_code == 200, revoked.text
        expected = {"device_id": device_id, "reason": "lost", "nameid": str(owner.id)}
        for stream in (own, api_admins, on_the_device):  # the lost device too, if it still listens
            event = stream.next()
            assert event["event"] == "device.revoked"
            assert {k: event["data"][k] for k in expected} == expected
            assert set(event["data"]) == {"id", "type", "at", *expected}
        assert others.nothing_within(2 * PING) and admins.nothing_within(PING)
        # Then the device's own stream ends: its token is refused at the next heartbeat.
        assert on_the_device.ended.wait(10 * PING + 2)


def machine_nameid(machine) -> str:
    import jwt as pyjwt

    return str(pyjwt.decode(machine.token, options={"verify_signature": False})["nameid"])


def test_an_expiring_token_ends_the_stream(live) -> None:
    api = live.api
    drone = api.machine("Admin")
    # Three seconds, so that a loaded machine still opens the stream before the token expires.
    drone.token = api.handshake(drone, duration=3)
    expires_at = jwt.decode(drone.token, options={"verify_signature": False})["exp"]
    with live.stream(drone.headers) as stream:
        assert stream.ended.wait(15)
        ended_at = time.time()
    assert expires_at - 1 <= ended_at < expires_at + 5


@pytest.mark.parametrize("how", ["logout", "delete", "disable"])
def test_a_revoked_token_or_a_gone_caller_ends_the_stream(live, how: str) -> None:
    api = live.api
    person = api.user("Admin")
    drone = api.machine("Admin")
    headers = drone.headers if how == "disable" else person.headers
    with live.stream(headers) as stream:
        time.sleep(PING)
        assert not stream.ended.is_set()
        if how == "logout":
            api.client.post("/logout", headers=person.headers)
        elif how == "delete":
            api.client.delete(f"/users/{person.id}", headers=api.admin)
        else:
            api.client.put(f"/clients/{drone.name}/enabled", json={"enabled": False}, headers=api.admin)
        assert stream.ended.wait(5 * PING + 2)


def test_a_role_change_applies_at_the_next_heartbeat(live) -> None:
    api = live.api
    person = api.user("Validator")
    with live.stream(person.headers) as stream:
        api.upload("models", "one.bin", b"x", draft="true")
        assert stream.next()["data"]["resource"]["name"] == "one.bin"
        api.client.put(f"/users/{person.id}/role", json={"role": "Operator"}, headers=api.admin)
        time.sleep(3 * PING)
        api.upload("models", "two.bin", b"x", draft="true")
        assert stream.nothing_within(3 * PING)


def test_streams_per_caller_are_capped(make_live) -> None:
    live = make_live(sse_max_streams_per_user=2)
    api = live.api
    person, other = api.user("Admin"), api.user("Admin")
    first, second = live.stream(person.headers), live.stream(person.headers)
    third = Stream(live.url, person.headers)
    assert third.status == 429, third.body
    assert '"TOO_MANY_STREAMS"' in third.body
    with live.stream(other.headers):  # another caller has its own count
        pass
    first.close()
    deadline = time.monotonic() + 5
    while True:
        again = Stream(live.url, person.headers)
        if again.status == 200:
            break
        assert time.monotonic() < deadline, "a closed stream did not give its place back"
        time.sleep(0.1)
    again.close()
    second.close()


def test_a_machine_client_follows_the_stream(live) -> None:
    api = live.api
    drone = api.machine("Operator")
    api.set_client_license(drone, ["models"])
    with live.stream(drone.headers) as stream:
        api.upload("models", "m.bin", b"x")
        assert stream.next()["data"]["resource"]["name"] == "m.bin"
        assert api.machine_read(drone, "models", "m.bin", HW1) == b"x"
        assert api.machine_get(drone, "models", "m.bin", HW2).status_code == 403


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_shows_the_stream(live) -> None:
    api = live.api
    api.upload("models", "m.bin", b"x")
    command = [
        "curl", "-sN", "--max-time", str(6 * PING),
        "-H", f"Authorization: {api.admin['Authorization']}",
        f"{live.url}/events?last_event_id=0",
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
    assert "event: resource.created\n" in output
    assert "\ndata: {" in output and '"name": "m.bin"' in output
    assert ": ping" in output


def test_a_database_failure_ends_the_stream_cleanly(live, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    import azaion_server.events.routes as routes
    from sqlalchemy.exc import OperationalError

    def broken(*_args):
        raise OperationalError("SELECT", {}, Exception("gone"))

    api = live.api
    with live.stream(api.admin) as stream:
        monkeypatch.setattr(routes, "_read", broken)
        monkeypatch.setattr(routes, "_close", broken)
        api.upload("models", "m.bin", b"x")
        assert stream.ended.wait(5)
    assert "event stream ended: OperationalError" in caplog.text
    assert "lease not released" in caplog.text
