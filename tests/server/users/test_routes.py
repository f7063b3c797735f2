"""User administration: ApiAdmin only, and every failure a bare 400."""

from __future__ import annotations

import pytest

from tests.server.helpers import ADMIN_EMAIL, HW1, assert_error

ROLES = ["ApiAdmin", "Admin", "ResourceUploader", "Validator", "Operator"]


def test_create_and_list(api) -> None:
    response = api.client.post(
        "/users",
        json={"email": " New.User@Example.com ", "password": "long-enough", "role": "Validator"},
        headers=api.admin,
    )
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "email", "role"}
    assert created["email"] == "new.user@example.com" and created["role"] == "Validator"
    assert api.login("NEW.USER@example.com", "long-enough")
    listed = api.client.get("/users", headers=api.admin).json()
    assert [u["email"] for u in listed] == [ADMIN_EMAIL, "new.user@example.com"]
    assert listed[1] == {
        "id": created["id"],
        "email": "new.user@example.com",
        "role": "Validator",
        "hardware_bound": False,
        "license": {
            "plan": None,
            "expires_at": None,
            "folders": None,
            "offline_hours": None,
            "max_devices": None,
        },
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_role_can_be_created(api, role: str) -> None:
    person = api.user(role)
    assert api.login(person.email, person.password)


@pytest.mark.parametrize(
    "body",
    [
        {"email": ADMIN_EMAIL, "password": "long-enough", "role": "Operator"},  # taken
        {
            "email": "ADMIN@example.com ",
            "password": "long-enough",
            "role": "Operator",
        },  # taken, once normalised
        {"email": "not-an-email", "password": "long-enough", "role": "Operator"},
        {"email": "a b@example.com", "password": "long-enough", "role": "Operator"},
        {"email": "x@example.com", "password": "short", "role": "Operator"},
        {"email": "x@example.com", "password": "p" * 1025, "role": "Operator"},
        {"email": "x@example.com", "password": "long-enough", "role": "God"},
        {"email": "x@example.com", "password": "long-enough"},
        {},
    ],
)
def test_create_errors_are_opaque(api, body: dict) -> None:
    body = assert_error(api.client.post("/users", json=body, headers=api.admin), 400, "BAD_REQUEST")
    assert body["message"] == "request rejected"


def test_set_role_takes_effect_at_once(api) -> None:
    person = api.user("Operator")
    assert api.client.get("/users", headers=person.headers).status_code == 403
    response = api.client.put(f"/users/{person.id}/role", json={"role": "ApiAdmin"}, headers=api.admin)
    assert response.status_code == 200 and response.json()["role"] == "ApiAdmin"
    # The same token, issued as Operator, now has the rights of the new role.
    assert api.client.get("/users", headers=person.headers).status_code == 200


def test_last_api_admin_is_kept(api) -> None:
    me = api.admin_person()
    assert_error(
        api.client.put(f"/users/{me.id}/role", json={"role": "Admin"}, headers=api.admin), 400, "BAD_REQUEST"
    )
    assert_error(api.client.delete(f"/users/{me.id}", headers=api.admin), 400, "BAD_REQUEST")
    other = api.user("ApiAdmin")
    assert (
        api.client.put(f"/users/{me.id}/role", json={"role": "Admin"}, headers=other.headers).status_code
        == 200
    )
    assert (
        api.client.put(f"/users/{me.id}/role", json={"role": "ApiAdmin"}, headers=other.headers).status_code
        == 200
    )
    assert api.client.delete(f"/users/{other.id}", headers=api.admin).status_code == 200


def test_delete_user_kills_its_tokens(api) -> None:
    person = api.user("Operator")
    response = api.client.delete(f"/users/{person.id}", headers=api.admin)
    assert response.status_code == 200 and response.json() == {"success": True}
    assert_error(api.client.get("/license/info", headers=person.headers), 401, "UNAUTHORIZED")
    assert_error(
        api.client.post("/login", json={"email": person.email, "password": person.password}),
        401,
        "INVALID_CREDENTIALS",
    )
    # A new user with the same email is someone else: the old token still fails.
    again = api.user("Operator", email=person.email, password=person.password)
    assert again.id != person.id
    assert_error(api.client.get("/license/info", headers=person.headers), 401, "UNAUTHORIZED")


def test_reset_hardware(api) -> None:
    person = api.user("Admin")
    api.upload("models", "m.bin", b"bytes")
    assert api.get(person, "models", "m.bin", hw=HW1).status_code == 200
    listed = {u["id"]: u for u in api.client.get("/users", headers=api.admin).json()}
    assert listed[person.id]["hardware_bound"] is True
    response = api.client.delete(f"/users/{person.id}/hardware", headers=api.admin)
    assert response.status_code == 200 and response.json() == {"success": True}
    listed = {u["id"]: u for u in api.client.get("/users", headers=api.admin).json()}
    assert listed[person.id]["hardware_bound"] is False


def test_set_license_route(api) -> None:
    person = api.user("Operator")
    response = api.client.put(
        f"/users/{person.id}/license",
        json={"plan": "pro", "expires_at": "2031-05-06T07:08:09", "folders": ["b", "a", "a"]},
        headers=api.admin,
    )
    assert response.status_code == 200
    assert response.json() == {
        "plan": "pro",
        "expires_at": "2031-05-06T07:08:09Z",
        "folders": ["a", "b"],
        "offline_hours": 0,  # the default: never offline
        "max_devices": 1,
    }
    # Replacing it, with offline use.
    response = api.client.put(
        f"/users/{person.id}/license",
        json={
            "plan": "basic",
            "expires_at": "2032-01-01T00:00:00+02:00",
            "folders": ["c"],
            "offline_hours": 72,
        },
        headers=api.admin,
    )
    assert response.status_code == 200
    info = api.client.get("/license/info", headers=person.headers).json()
    assert info == {
        "plan": "basic",
        "expires_at": "2031-12-31T22:00:00Z",
        "folders": ["c"],
        "offline_hours": 72,
        "max_devices": 1,
    }
    validate = api.client.post("/license/validate", json={"hardware": HW1}, headers=person.headers)
    assert validate.json()["offline_hours"] == 72


@pytest.mark.parametrize(
    "body",
    [
        {"plan": "pro", "expires_at": "not a date", "folders": []},
        {"plan": "", "expires_at": "2031-01-01T00:00:00Z", "folders": []},
        {"plan": "pro", "expires_at": "2031-01-01T00:00:00Z", "folders": ["../etc"]},
        {"plan": "pro", "folders": []},
        {"plan": "pro", "expires_at": "2031-01-01T00:00:00Z", "offline_hours": -1},
        {"plan": "pro", "expires_at": "2031-01-01T00:00:00Z", "offline_hours": 366 * 24 + 1},
        {"plan": "pro", "expires_at": "2031-01-01T00:00:00Z", "offline_hours": "forever"},
        {"plan": "pro", "expires_at": "2031-01-01T00:00:00Z", "offline_hours": False},
        {"plan": "pro", "expires_at": "2031-01-01T00:00:00Z", "max_devices": False},
        {"plan": "pro", "expires_at": "2031-01-01T00:00:00Z", "max_devices": "2"},
    ],
)
def test_set_license_errors_are_opaque(api, body: dict) -> None:
    person = api.user("Operator")
    assert_error(
        api.client.put(f"/users/{person.id}/license", json=body, headers=api.admin), 400, "BAD_REQUEST"
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/users/999999/role", {"role": "Admin"}),
        ("put", "/users/999999/license", {"plan": "p", "expires_at": "2031-01-01T00:00:00Z", "folders": []}),
        ("delete", "/users/999999/hardware", None),
        ("delete", "/users/999999", None),
        ("delete", "/users/not-a-number", None),
        ("delete", "/users/99999999999999999999", None),
        ("delete", "/users/0", None),
        ("put", "/users/2147483648/role", {"role": "Admin"}),
        ("put", "/users/1/role", {"role": "Nope"}),
    ],
)
def test_unknown_users_and_bad_ids_are_opaque(api, method: str, path: str, body: dict | None) -> None:
    response = api.client.request(method, path, json=body, headers=api.admin)
    assert assert_error(response, 400, "BAD_REQUEST")["message"] == "request rejected"


ADMIN_CALLS = [
    ("post", "/users", {"email": "z@example.com", "password": "long-enough", "role": "Operator"}),
    ("get", "/users", None),
    ("put", "/users/1/role", {"role": "Operator"}),
    ("put", "/users/1/license", {"plan": "p", "expires_at": "2031-01-01T00:00:00Z", "folders": []}),
    ("delete", "/users/1/hardware", None),
    ("delete", "/users/1", None),
]


@pytest.mark.parametrize("role", ["Admin", "ResourceUploader", "Validator", "Operator"])
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_only_api_admins_administer(api, role: str, method: str, path: str, body: dict | None) -> None:
    person = api.user(role)
    response = api.client.request(method, path, json=body, headers=person.headers)
    assert_error(response, 403, "FORBIDDEN")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_administration_needs_a_token(client, method: str, path: str, body: dict | None) -> None:
    assert_error(client.request(method, path, json=body), 401, "UNAUTHORIZED")


def test_passwords_are_not_logged(api, no_secrets_logged) -> None:
    person = api.user("Operator", password="very-secret-password")
    api.client.post("/login", json={"email": person.email, "password": "another-secret-password"})
    no_secrets_logged("very-secret-password", "another-secret-password", person.token, api.admin_token)
