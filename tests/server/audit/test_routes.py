"""`GET /audit`: a row for every small part issued (user, machine client, cdn.yaml), every login
and logout; filters and paging."""

from __future__ import annotations

import pytest

from tests.server.helpers import assert_error


def _rows(api, **params) -> list[dict]:
    response = api.client.get("/audit", params=params, headers=api.admin)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_a_users_download_is_audited(api) -> None:
    api.upload("models", "m.bin", b"model bytes")
    person = api.user("Operator")
    api.set_license(person, ["models"])
    assert api.read(person, "models", "m.bin") == b"model bytes"
    checksum = api.client.get("/resources/models/m.bin", headers=api.admin).json()["resource"]["checksum"]
    [row] = _rows(api, action="small_part", actor=str(person.id))
    assert (row["actor_name"], row["folder"], row["name"], row["mode"]) == (
        person.email,
        "models",
        "m.bin",
        "online",
    )
    # The version id (docs/formats.md, section 3): bytes too short for a header get SHA-256's first 16 bytes.
    assert row["version"] == checksum[:32] and row["address"] == "testclient" and row["device"] is None
    # A refused download (no such resource) issues nothing and records nothing.
    assert api.get(person, "models", "missing.bin").status_code == 404
    assert len(_rows(api, action="small_part", actor=str(person.id))) == 1


def test_a_machine_clients_download_and_handshake_are_audited(api) -> None:
    api.upload("models", "m.bin", b"model bytes")
    drone = api.machine("Admin")
    assert api.machine_get(drone, "models", "m.bin").status_code == 200
    actor = f"client:{drone_id(api, drone.name)}"
    assert [r["action"] for r in _rows(api, actor=actor)] == ["small_part", "login"]


def drone_id(api, name: str) -> int:
    return next(
        c["id"] for c in api.client.get("/clients", headers=api.admin).json() if c["client_name"] == name
    )


def test_cdn_yaml_is_audited(make_client, s3_endpoint, s3_bucket) -> None:
    from tests.server.helpers import Api

    api = Api(
        make_client(
            s3_endpoint=s3_endpoint.url,
            s3_bucket=s3_bucket,
            s3_downloader_key="dk",
            s3_downloader_secret="ds",
        )
    )
    person = api.user("Operator")
    assert b"dk" in api.read(person, "system", "cdn.yaml")
    [row] = _rows(api, action="small_part", actor=str(person.id))
    assert (row["folder"], row["name"], len(row["version"])) == ("system", "cdn.yaml", 32)


def test_logins_and_logouts_are_audited(api) -> None:
    person = api.user("Operator")
    api.client.post("/logout", headers=person.headers)
    actions = [r["action"] for r in _rows(api, actor=str(person.id))]
    assert actions == ["logout", "login"]
    # A failed login is not a login.
    api.client.post("/login", json={"email": person.email, "password": "wrong-password"})
    assert [r["action"] for r in _rows(api, actor=str(person.id))] == actions


def test_paging_and_filters(api) -> None:
    api.upload("models", "m.bin", b"x")
    person = api.user("Admin")
    for _ in range(5):
        assert api.get(person, "models", "m.bin").status_code == 200
    first = api.client.get("/audit", params={"action": "small_part", "limit": 2}, headers=api.admin).json()
    assert len(first["results"]) == 2 and first["next"] == first["results"][-1]["id"]
    seen = [r["id"] for r in first["results"]]
    cursor = first["next"]
    while cursor is not None:
        page = api.client.get(
            "/audit", params={"action": "small_part", "limit": 2, "before": cursor}, headers=api.admin
        ).json()
        seen += [r["id"] for r in page["results"]]
        cursor = page["next"]
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    assert _rows(api, folder="models", name="m.bin", mode="online") != []
    assert _rows(api, folder="maps") == []
    assert _rows(api, since="2999-01-01T00:00:00Z") == []
    assert len(_rows(api, until="2999-01-01T00:00:00Z", action="small_part")) == 5


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"before": 0}, {"since": "yesterday"}, {"until": "0.5"}, {"since": "1e9"}],
)
def test_bad_queries_are_400(api, params) -> None:
    assert_error(api.client.get("/audit", params=params, headers=api.admin), 400, "BAD_REQUEST")


def test_only_api_admins_read_the_audit(api) -> None:
    person = api.user("Admin")
    assert_error(api.client.get("/audit", headers=person.headers), 403, "FORBIDDEN")
    assert_error(api.client.get("/audit"), 401, "UNAUTHORIZED")


def test_a_devices_sealed_small_part_names_the_device(make_client) -> None:
    from tests.reference.device import Device
    from tests.server.devices.test_devices import FOLDER, NAME, SMALL, enrol, get, login
    from tests.server.helpers import Api

    api = Api(make_client(legacy_envelope=False))
    assert api.upload(FOLDER, NAME, SMALL).status_code == 201
    person = api.user("Operator")
    api.set_license(person, [FOLDER])
    device = Device()
    token = login(api, person, device)
    assert enrol(api, token, device).status_code == 201
    assert get(api, token, device).status_code == 200
    [row] = _rows(api, action="small_part", actor=str(person.id))
    assert row["device"] == str(device.id) and row["version"] == bytes(range(16)).hex()
    assert (row["folder"], row["name"], row["mode"]) == (FOLDER, NAME, "online")
    assert _rows(api, device=str(device.id), action="small_part") == [row]
