"""Each role against each route: deny by default, and no mass assignment."""

from __future__ import annotations

import os

import pytest

from tests.reference.device import Device

FOLDER = "models"
ROLES = ["ApiAdmin", "Admin", "ResourceUploader", "Validator", "Operator"]


def bearer(live, account) -> dict:
    return {"Authorization": f"Bearer {live.login(account.email, account.password)}"}


@pytest.fixture
def victim(live, make_account):
    return make_account("Operator")


ADMIN_ROUTES = [
    ("GET", "/users", None),
    ("POST", "/users", {"email": "new-{n}@e2e.local", "password": "pw-pw-pw-pw", "role": "Operator"}),
    ("PUT", "/users/{victim}/role", {"role": "ApiAdmin"}),
    (
        "PUT",
        "/users/{victim}/license",
        {"plan": "x", "expires_at": "2099-01-01T00:00:00Z", "folders": ["models"]},
    ),
    ("DELETE", "/users/{victim}/hardware", None),
    ("DELETE", "/users/{victim}", None),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES]
)
def test_user_administration_is_for_api_admins_only(live, make_account, victim, role, method, path, body):
    caller = make_account(role)
    url = live.url + path.format(victim=victim.id)
    payload = (
        None
        if body is None
        else {k: (v.format(n=os.urandom(4).hex()) if isinstance(v, str) else v) for k, v in body.items()}
    )
    answer = live.http.request(method, url, json=payload, headers=bearer(live, caller), timeout=30)
    if role == "ApiAdmin":
        assert answer.status_code < 300, answer.text
    else:
        assert answer.status_code == 403, (role, answer.status_code, answer.text)
        assert answer.json()["code"] == "FORBIDDEN"


@pytest.mark.parametrize("role", ROLES)
def test_uploads_are_for_uploader_roles(live, make_account, role):
    caller = make_account(role)
    answer = live.http.post(
        f"{live.url}/resources/{FOLDER}",
        files={"data": (f"by-{role}.bin", b"small")},
        headers=bearer(live, caller),
        timeout=30,
    )
    expected = 201 if role in ("ApiAdmin", "Admin", "ResourceUploader") else 403
    assert answer.status_code == expected, answer.text


def test_an_uploader_cannot_touch_another_uploaders_resource(live, make_account):
    owner, other = make_account("ResourceUploader"), make_account("ResourceUploader")
    assert (
        live.http.post(
            f"{live.url}/resources/{FOLDER}",
            files={"data": ("owned.bin", b"v1")},
            headers=bearer(live, owner),
            timeout=30,
        ).status_code
        == 201
    )
    headers = bearer(live, other)
    replace = live.http.post(
        f"{live.url}/resources/{FOLDER}", files={"data": ("owned.bin", b"evil")}, headers=headers, timeout=30
    )
    delete = live.http.delete(f"{live.url}/resources/{FOLDER}/owned.bin", headers=headers, timeout=30)
    assert replace.status_code == 403 and delete.status_code == 403
    # The admin's own device reads what is stored: the first version, untouched.
    device = Device()
    login = live.http.post(
        f"{live.url}/login",
        json={"email": live.admin_email, "password": live.admin_password},
        headers={"DPoP": device.proof("POST", f"{live.url}/login")},
        timeout=30,
    )
    token = login.json()["token"]
    enrolled = live.http.post(
        f"{live.url}/devices",
        json=device.enrol_body(),
        headers=device.headers("POST", f"{live.url}/devices", token),
        timeout=30,
    )
    assert enrolled.status_code in (200, 201), enrolled.text
    device.id = enrolled.json()["id"]
    get = f"{live.url}/resources/get/{FOLDER}"
    body = live.http.post(
        get,
        json={"fileName": "owned.bin", "hardware": "0" * 64},
        headers=device.headers("POST", get, token),
        timeout=30,
    )
    assert body.status_code == 200, body.text
    assert device.open(body.content, FOLDER, "owned.bin") == b"v1"


def test_mass_assignment_is_ignored_or_refused(live, make_account):
    uploader = make_account("ResourceUploader")
    headers = bearer(live, uploader)
    answer = live.http.post(
        f"{live.url}/resources/{FOLDER}",
        files={"data": ("mass.bin", b"x")},
        data={
            "alive": "false",
            "owner_id": "1",
            "id": "999999",
            "role": "ApiAdmin",
            "size": "1",
            "checksum": "0" * 64,
        },
        headers=headers,
        timeout=30,
    )
    assert answer.status_code in (201, 400)
    if answer.status_code == 201:
        resource = answer.json()["resource"]
        assert resource["alive"] is True and resource["id"] != 999999 and resource["size"] == 1
        assert resource["checksum"] != "0" * 64
    created = live.admin(
        "POST",
        "/users",
        json={
            "email": f"mass-{os.urandom(3).hex()}@e2e.local",
            "password": "pw-pw-pw-pw",
            "role": "Operator",
            "id": 1,
            "hardware": "f" * 64,
            "is_admin": True,
        },
    ).json()
    assert created["id"] != 1 and created["role"] == "Operator"


def test_operator_cannot_see_or_read_drafts_and_dead_resources(live, make_account, connect):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    up = connect(uploader, cache="up")
    up.upload_big_small_resource(b"draft weights", "draft.bin", FOLDER, None, None, True)
    up.upload_big_small_resource(b"dead weights", "dead.bin", FOLDER)
    import azaion as _azaion

    with pytest.raises(_azaion.PermissionDenied):  # soft delete is for Admins (DESIGN's roles)
        up.delete_resource("dead.bin", FOLDER)
    connect(make_account("Admin"), cache="admin").delete_resource("dead.bin", FOLDER)
    import azaion

    client = connect(operator, device="op", cache="op")
    for name in ("draft.bin", "dead.bin"):
        with pytest.raises(azaion.ResourceNotFound):
            client.load_big_small_resource(name, FOLDER)
    names = {r["name"] for r in client.list_resources(folder=FOLDER, count=1000)}
    assert "draft.bin" not in names and "dead.bin" not in names
