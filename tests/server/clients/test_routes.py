"""Machine client administration: ApiAdmin only, every failure a bare 400, keys shown once."""

from __future__ import annotations

import base64

import pytest
from azaion_server.clients.entities import Client
from sqlalchemy import select

from tests.server.helpers import HW1, HW2, assert_error


def test_create_answers_the_key_once(api, clean_db) -> None:
    response = api.client.post(
        "/clients", json={"client_name": "drone-07", "role": "Operator"}, headers=api.admin
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"client_name", "role", "key"}
    assert (body["client_name"], body["role"]) == ("drone-07", "Operator")
    key = base64.b64decode(body["key"], validate=True)
    assert len(key) == 32
    listed = api.client.get("/clients", headers=api.admin).json()
    assert len(listed) == 1
    assert body["key"] not in str(listed)
    assert set(listed[0]) == {
        "id",
        "client_name",
        "role",
        "enabled",
        "hardware_bound",
        "created_at",
        "license",
    }
    assert listed[0]["license"] == {
        "plan": None,
        "expires_at": None,
        "folders": None,
        "offline_hours": None,
        "max_devices": None,
    }
    assert (listed[0]["enabled"], listed[0]["hardware_bound"]) == (True, False)
    # At rest the key is sealed: neither it nor its base64 is in the row.
    with clean_db.connect() as connection:
        sealed = connection.scalar(select(Client.sealed_key))
    assert key not in sealed and body["key"].encode() not in sealed
    assert len(sealed) == 1 + 12 + 32 + 16


@pytest.mark.parametrize(
    "body",
    [
        {"client_name": "drone-07", "role": "Operator"},  # taken
        {"client_name": "", "role": "Operator"},
        {"client_name": "-leading-dash", "role": "Operator"},
        {"client_name": "has space", "role": "Operator"},
        {"client_name": "slash/name", "role": "Operator"},
        {"client_name": "x" * 65, "role": "Operator"},
        {"client_name": "ok", "role": "God"},
        {"client_name": "ok"},
        {},
    ],
)
def test_create_errors_are_opaque(api, body: dict) -> None:
    api.machine("Operator", name="drone-07", login=False)
    body = assert_error(api.client.post("/clients", json=body, headers=api.admin), 400, "BAD_REQUEST")
    assert body["message"] == "request rejected"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/clients", {"client_name": "x", "role": "Operator"}),
        ("get", "/clients", None),
        ("put", "/clients/x/enabled", {"enabled": False}),
        ("put", "/clients/x/license", {"plan": "p", "expires_at": "2999-01-01T00:00:00Z", "folders": []}),
        ("delete", "/clients/x/hardware", None),
        ("delete", "/clients/x", None),
    ],
)
def test_administration_is_for_api_admins(api, method: str, path: str, body) -> None:
    kwargs = {"json": body} if body is not None else {}
    assert_error(getattr(api.client, method)(path, **kwargs), 401, "UNAUTHORIZED")
    for role in ("Admin", "ResourceUploader", "Validator", "Operator"):
        person = api.user(role)
        assert_error(getattr(api.client, method)(path, headers=person.headers, **kwargs), 403, "FORBIDDEN")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/clients/nobody/enabled", {"enabled": False}),
        (
            "put",
            "/clients/nobody/license",
            {"plan": "p", "expires_at": "2999-01-01T00:00:00Z", "folders": []},
        ),
        ("delete", "/clients/nobody/hardware", None),
        ("delete", "/clients/nobody", None),
        ("delete", "/clients/bad%20name", None),
        ("put", "/clients/x/license", {"plan": "p", "expires_at": "2999-01-01T00:00:00Z", "folders": [".."]}),
        ("put", "/clients/x/enabled", {}),
        ("put", "/clients/x/enabled", {"enabled": 0}),
    ],
)
def test_unknown_clients_and_bad_bodies_are_opaque(api, method: str, path: str, body) -> None:
    api.machine("Operator", name="x", login=False)
    kwargs = {"json": body} if body is not None else {}
    response = getattr(api.client, method)(path, headers=api.admin, **kwargs)
    assert assert_error(response, 400, "BAD_REQUEST")["message"] == "request rejected"


def test_licence_hardware_and_listing(api) -> None:
    drone = api.machine("Operator")
    answer = api.set_client_license(drone, ["models", "maps"], expires_at="2040-01-01T00:00:00Z")
    assert answer == {
        "plan": "fleet",
        "expires_at": "2040-01-01T00:00:00Z",
        "folders": ["maps", "models"],
        "offline_hours": 0,
        "max_devices": 1,
    }
    assert api.client.get("/license/info", headers=drone.headers).json()["folders"] == ["maps", "models"]
    validate = api.client.post("/license/validate", json={"hardware": HW1}, headers=drone.headers)
    assert validate.status_code == 200 and validate.json()["plan"] == "fleet"
    api.upload("models", "m.bin", b"model")
    assert api.machine_read(drone, "models", "m.bin", HW1) == b"model"
    listed = api.client.get("/clients", headers=api.admin).json()
    assert listed[0]["hardware_bound"] is True and listed[0]["license"]["plan"] == "fleet"
    assert_error(api.machine_get(drone, "models", "m.bin", HW2), 403, "HARDWARE_MISMATCH")
    assert_error(
        api.client.post("/license/validate", json={"hardware": HW2}, headers=drone.headers),
        403,
        "HARDWARE_MISMATCH",
    )
    assert api.client.delete(f"/clients/{drone.name}/hardware", headers=api.admin).json() == {"success": True}
    assert api.machine_read(drone, "models", "m.bin", HW2) == b"model"
    assert_error(api.machine_get(drone, "models", "m.bin", HW1), 403, "HARDWARE_MISMATCH")


def test_a_client_licence_is_not_a_users(api) -> None:
    """Licences of clients and users live apart: the same id in both tables names two holders."""
    drone = api.machine("Operator")
    person = api.user("Operator")
    api.set_license(person, ["models"])
    assert api.client.get("/license/info", headers=drone.headers).json()["plan"] is None
    api.set_client_license(drone, ["maps"])
    assert api.client.get("/license/info", headers=person.headers).json()["folders"] == ["models"]


def test_delete_takes_the_licence_and_keeps_the_uploads(api, clean_db) -> None:
    uploader = api.machine("ResourceUploader")
    api.set_client_license(uploader, ["models"])
    assert api.upload("models", "by-machine.bin", b"x", headers=uploader.headers).status_code == 201
    assert api.client.delete(f"/clients/{uploader.name}", headers=api.admin).status_code == 200
    assert api.client.get("/clients", headers=api.admin).json() == []
    kept = api.client.get("/resources/models/by-machine.bin", headers=api.admin).json()["resource"]
    assert kept["alive"] is True
    # Registered again under the same name, it is a new client: not the uploader of the old resource.
    again = api.machine("ResourceUploader", name=uploader.name)
    assert_error(api.upload("models", "by-machine.bin", b"y", headers=again.headers), 403, "FORBIDDEN")
