"""The registry's writes: `PUT` (replace), publish/withdraw, soft delete, per role."""

from __future__ import annotations

import hashlib
import time

import pytest

from tests.server.helpers import Api, assert_error


def _put(api: Api, folder: str, name: str, data: bytes, headers=None, **fields: str):
    return api.client.put(
        f"/resources/{folder}",
        files={"data": (name, data, "application/octet-stream")},
        data=fields,
        headers=headers or api.admin,
    )


def test_put_replaces_an_existing_resource(api) -> None:
    first = api.upload("models", "m.bin", b"one", category="detector").json()["resource"]
    time.sleep(0.01)
    response = _put(api, "models", "m.bin", b"two, longer")
    assert response.status_code == 200, response.text
    second = response.json()["resource"]
    assert second["id"] == first["id"] and second["uploaded"] == first["uploaded"]
    assert second["modified"] > first["modified"]
    assert (second["size"], second["checksum"]) == (11, hashlib.sha256(b"two, longer").hexdigest())
    assert second["category"] == "detector"
    assert api.read(api.admin_person(), "models", "m.bin") == b"two, longer"


def test_put_of_nothing_is_404(api) -> None:
    assert_error(_put(api, "models", "new.bin", b"x"), 404, "NOT_FOUND")
    assert api.client.get("/resources", headers=api.admin).json()["results"] == []


def test_put_revives_and_keeps_draft_rules(api) -> None:
    api.upload("models", "m.bin", b"one")
    api.client.delete("/resources/models/m.bin", headers=api.admin)
    revived = _put(api, "models", "m.bin", b"two", draft="true").json()["resource"]
    assert (revived["alive"], revived["published"]) == (True, False)


@pytest.mark.parametrize("role", ["Validator", "Operator"])
def test_readers_cannot_put(api, role: str) -> None:
    api.upload("models", "m.bin", b"one")
    person = api.user(role)
    assert_error(_put(api, "models", "m.bin", b"two", headers=person.headers), 403, "FORBIDDEN")


def test_an_uploader_puts_only_its_own(api) -> None:
    owner, other = api.user("ResourceUploader"), api.user("ResourceUploader")
    api.upload("models", "m.bin", b"one", headers=owner.headers)
    assert_error(_put(api, "models", "m.bin", b"two", headers=other.headers), 403, "FORBIDDEN")
    assert _put(api, "models", "m.bin", b"two", headers=owner.headers).status_code == 200
    assert _put(api, "models", "m.bin", b"three").status_code == 200  # admins replace anything


def test_put_limits_and_names(make_client) -> None:
    api = Api(make_client(max_upload_bytes=10))
    api.upload("models", "m.bin", b"x")
    assert_error(_put(api, "models", "m.bin", b"x" * 11), 413, "TOO_LARGE")
    assert_error(_put(api, "system", "cdn.yaml", b"x"), 400, "INVALID_NAME")
    assert_error(_put(api, "models", "..", b"x"), 400, "INVALID_NAME")
    assert_error(api.client.put("/resources/models", content=b"{}", headers=api.admin), 400, "BAD_REQUEST")


def _publish(api: Api, folder: str, name: str, published: bool, headers=None):
    return api.client.post(
        f"/resources/{folder}/{name}/publish", json={"published": published}, headers=headers or api.admin
    )


def test_publish_and_withdraw(api) -> None:
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    draft = api.upload("models", "m.bin", b"x", draft="true").json()["resource"]
    assert_error(api.get(operator, "models", "m.bin"), 404, "NOT_FOUND")
    time.sleep(0.01)
    response = _publish(api, "models", "m.bin", True)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["resource"]["published"] is True
    assert body["resource"]["modified"] > draft["modified"]
    assert api.read(operator, "models", "m.bin") == b"x"
    assert _publish(api, "models", "m.bin", False).json()["resource"]["published"] is False
    assert_error(api.get(operator, "models", "m.bin"), 404, "NOT_FOUND")
    names = [r["name"] for r in api.client.get("/resources", headers=operator.headers).json()["results"]]
    assert names == []


def test_publishing_what_is_published_changes_nothing(api) -> None:
    before = api.upload("models", "m.bin", b"x").json()["resource"]
    after = _publish(api, "models", "m.bin", True).json()["resource"]
    assert after == before


@pytest.mark.parametrize(
    ("role", "own", "status"),
    [
        ("ApiAdmin", False, 200),
        ("Admin", False, 200),
        ("ResourceUploader", True, 200),
        ("ResourceUploader", False, 403),
        ("Validator", False, 403),
        ("Operator", False, 403),
    ],
)
def test_who_may_publish(api, role: str, own: bool, status: int) -> None:
    person = api.user(role)
    api.set_license(person, ["models"])
    api.upload("models", "m.bin", b"x", headers=person.headers if own else api.admin)
    response = _publish(api, "models", "m.bin", False, headers=person.headers)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["code"] == "FORBIDDEN"


def test_publish_errors(api) -> None:
    assert_error(_publish(api, "models", "nothing.bin", True), 404, "NOT_FOUND")
    assert_error(_publish(api, "models", ".env", True), 400, "INVALID_NAME")
    api.upload("models", "m.bin", b"x")
    for body in ({}, {"published": "perhaps"}, {"published": 0}, {"published": "true"}, []):
        response = api.client.post("/resources/models/m.bin/publish", json=body, headers=api.admin)
        assert_error(response, 400, "BAD_REQUEST")
    assert_error(
        api.client.post("/resources/models/m.bin/publish", json={"published": True}), 401, "UNAUTHORIZED"
    )


def test_a_dead_resource_stays_dead_when_published(api) -> None:
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    api.upload("models", "m.bin", b"x", draft="true")
    api.client.delete("/resources/models/m.bin", headers=api.admin)
    resource = _publish(api, "models", "m.bin", True).json()["resource"]
    assert (resource["published"], resource["alive"]) == (True, False)
    assert_error(api.get(operator, "models", "m.bin"), 404, "NOT_FOUND")


def test_deleting_twice_changes_nothing(api) -> None:
    api.upload("models", "m.bin", b"x")
    first = api.client.delete("/resources/models/m.bin", headers=api.admin).json()["resource"]
    second = api.client.delete("/resources/models/m.bin", headers=api.admin).json()["resource"]
    assert first == second and first["alive"] is False
