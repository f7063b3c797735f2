"""`POST /license/validate` and `GET /license/info`."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.server.helpers import HW1, HW2, assert_error


def test_info_without_licence(api) -> None:
    person = api.user("Operator")
    response = api.client.get("/license/info", headers=person.headers)
    assert response.status_code == 200
    assert response.json() == {
        "plan": None,
        "expires_at": None,
        "folders": None,
        "offline_hours": None,
        "max_devices": None,
    }


def test_validate_and_info(api) -> None:
    person = api.user("Operator")
    api.set_license(person, ["models", "maps"], expires_at="2040-01-01T00:00:00Z", plan="pro")
    response = api.client.post("/license/validate", json={"hardware": HW1}, headers=person.headers)
    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "plan": "pro",
        "expires_at": "2040-01-01T00:00:00Z",
        "folders": ["maps", "models"],
        "offline_hours": 0,
    }
    assert api.client.get("/license/info", headers=person.headers).json()["plan"] == "pro"


def test_validate_without_licence(api) -> None:
    person = api.user("Operator")
    assert_error(
        api.client.post("/license/validate", json={"hardware": HW1}, headers=person.headers),
        403,
        "LICENSE_REQUIRED",
    )


def test_validate_expired(api) -> None:
    person = api.user("Operator")
    api.set_license(person, ["models"], expires_at="2001-01-01T00:00:00Z")
    assert_error(
        api.client.post("/license/validate", json={"hardware": HW1}, headers=person.headers),
        403,
        "LICENSE_EXPIRED",
    )


def test_grace_period(api, make_client) -> None:
    person = api.user("Operator")
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)).isoformat()
    api.set_license(person, ["models"], expires_at=past)
    lenient = make_client(license_grace_seconds=3600)
    assert (
        lenient.post("/license/validate", json={"hardware": HW1}, headers=person.headers).status_code == 200
    )
    assert (
        api.client.post("/license/validate", json={"hardware": HW1}, headers=person.headers).status_code
        == 403
    )


def test_validate_on_another_machine(api) -> None:
    person = api.user("Operator")
    api.set_license(person, ["models"])
    api.upload("models", "m.bin", b"x")
    assert api.get(person, "models", "m.bin", hw=HW1).status_code == 200  # binds HW1
    assert (
        api.client.post("/license/validate", json={"hardware": HW1}, headers=person.headers).status_code
        == 200
    )
    assert_error(
        api.client.post("/license/validate", json={"hardware": HW2}, headers=person.headers),
        403,
        "HARDWARE_MISMATCH",
    )


def test_validate_binds_nothing(api) -> None:
    person = api.user("Operator")
    api.set_license(person, ["models"])
    api.client.post("/license/validate", json={"hardware": HW1}, headers=person.headers)
    api.upload("models", "m.bin", b"x")
    assert api.get(person, "models", "m.bin", hw=HW2).status_code == 200


@pytest.mark.parametrize("hardware", ["", "ab" * 31, "AB" * 32, "zz" * 32, "ab" * 33])
def test_validate_bad_hardware(api, hardware: str) -> None:
    person = api.user("Operator")
    assert_error(
        api.client.post("/license/validate", json={"hardware": hardware}, headers=person.headers),
        400,
        "BAD_REQUEST",
    )


@pytest.mark.parametrize(("method", "path"), [("post", "/license/validate"), ("get", "/license/info")])
def test_licence_routes_need_a_token(client, method: str, path: str) -> None:
    assert_error(client.request(method, path, json={"hardware": HW1}), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("expires_at", [0, 1e9, True, None, [], "tomorrow"])
def test_expiry_must_be_a_date_and_time(api, expires_at) -> None:
    person = api.user("Operator")
    response = api.client.put(
        f"/users/{person.id}/license",
        json={"plan": "p", "expires_at": expires_at, "folders": []},
        headers=api.admin,
    )
    assert_error(response, 400, "BAD_REQUEST")
