"""What machine clients read and write: envelopes, licences, roles, ownership, the key cache."""

from __future__ import annotations

import pytest
import yaml

from tests.reference import envelope as reference
from tests.server.helpers import HW1, HW2, assert_error


def test_an_operator_client_reads_with_a_licence(api) -> None:
    drone = api.machine("Operator")
    api.upload("models", "m.bin", b"model bytes")
    api.upload("maps", "city.map", b"map")
    assert_error(api.machine_get(drone, "models", "m.bin"), 403, "LICENSE_REQUIRED")
    api.set_client_license(drone, ["models"])
    assert api.machine_read(drone, "models", "m.bin") == b"model bytes"
    assert_error(api.machine_get(drone, "maps", "city.map"), 403, "FOLDER_NOT_LICENSED")
    api.set_client_license(drone, ["models"], expires_at="2000-01-01T00:00:00Z")
    assert_error(api.machine_get(drone, "models", "m.bin"), 403, "LICENSE_EXPIRED")


def test_the_envelope_is_for_this_client_and_machine(api) -> None:
    drone = api.machine("Admin")
    api.upload("models", "m.bin", b"secret model")
    sealed = api.machine_get(drone, "models", "m.bin").content
    with pytest.raises(reference.EnvelopeError):
        reference.open_(reference.derive_keys(drone.name.encode(), drone.key, HW2), sealed)
    with pytest.raises(reference.EnvelopeError):
        reference.open_(reference.derive_keys(b"someone-else", drone.key, HW1), sealed)
    assert (
        reference.open_(reference.derive_keys(drone.name.encode(), drone.key, HW1), sealed) == b"secret model"
    )


def test_a_password_sent_by_a_client_is_ignored(api) -> None:
    drone = api.machine("Admin")
    api.upload("models", "m.bin", b"x")
    response = api.client.post(
        "/resources/get/models",
        json={"fileName": "m.bin", "hardware": HW1, "password": "whatever"},
        headers=drone.headers,
    )
    assert response.status_code == 200
    keys = reference.derive_keys(drone.name.encode(), drone.key, HW1)
    assert reference.open_(keys, response.content) == b"x"


def test_a_user_must_send_a_password(api) -> None:
    person = api.user("Admin")
    api.upload("models", "m.bin", b"x")
    response = api.client.post(
        "/resources/get/models", json={"fileName": "m.bin", "hardware": HW1}, headers=person.headers
    )
    assert "password" in assert_error(response, 400, "BAD_REQUEST")["message"]


@pytest.mark.parametrize(("role", "uploader"), [("Operator", False), ("Validator", False), ("Admin", True)])
def test_cdn_yaml_for_clients(make_client, s3_endpoint, role: str, uploader: bool) -> None:
    from tests.server.helpers import Api

    api = Api(
        make_client(
            s3_endpoint=s3_endpoint.url,
            s3_downloader_key="down",
            s3_downloader_secret="down-secret",
            s3_uploader_key="up",
            s3_uploader_secret="up-secret",
        )
    )
    drone = api.machine(role)
    document = yaml.safe_load(api.machine_read(drone, "system", "cdn.yaml"))
    assert document["downloader_access_key"] == "down"
    assert document["uploader_access_key"] == document["uploader_access_secret"] == ""  # signed URLs instead


def test_an_uploader_client_owns_what_it_uploads(api) -> None:
    machine = api.machine("ResourceUploader")
    person = api.user("ResourceUploader")
    created = api.upload("models", "m.bin", b"v1", headers=machine.headers, draft="true")
    assert created.status_code == 201, created.text
    assert created.json()["resource"]["owner_id"] is None
    # Its own draft: listed, readable, publishable by it; not by another uploader.
    assert [r["name"] for r in api.client.get("/resources", headers=machine.headers).json()["results"]] == [
        "m.bin"
    ]
    assert api.client.get("/resources", headers=person.headers).json()["results"] == []
    assert api.machine_read(machine, "models", "m.bin") == b"v1"
    assert_error(
        api.client.post("/resources/models/m.bin/publish", json={"published": True}, headers=person.headers),
        404,
        "NOT_FOUND",
    )
    published = api.client.post(
        "/resources/models/m.bin/publish", json={"published": True}, headers=machine.headers
    )
    assert published.status_code == 200 and published.json()["resource"]["published"] is True
    assert_error(api.upload("models", "m.bin", b"v2", headers=person.headers), 403, "FORBIDDEN")
    assert api.upload("models", "m.bin", b"v2", headers=machine.headers).status_code == 201
    # Published, another uploader may read it, but not withdraw it.
    assert_error(
        api.client.post("/resources/models/m.bin/publish", json={"published": False}, headers=person.headers),
        403,
        "FORBIDDEN",
    )


def test_repeated_downloads_skip_the_key_work(api, monkeypatch: pytest.MonkeyPatch) -> None:
    drone = api.machine("Admin")
    api.upload("models", "m.bin", b"x")
    assert api.machine_read(drone, "models", "m.bin") == b"x"
    context = api.client.app.state.context
    monkeypatch.setattr(context.key_vault, "open", lambda *a: pytest.fail("key opened on the hot path"))
    assert api.machine_read(drone, "models", "m.bin") == b"x"
    monkeypatch.undo()
    # Another machine is another entry (and binding refuses it anyway).
    assert_error(api.machine_get(drone, "models", "m.bin", HW2), 403, "HARDWARE_MISMATCH")


def test_an_operator_client_lists_what_it_may_read(api) -> None:
    drone = api.machine("Operator")
    api.upload("models", "live.bin", b"x", category="detector")
    api.upload("models", "draft.bin", b"x", draft="true")
    api.upload("models", "dead.bin", b"x")
    api.client.delete("/resources/models/dead.bin", headers=api.admin)
    api.upload("maps", "city.map", b"x")
    assert_error(api.client.get("/resources", headers=drone.headers), 403, "LICENSE_REQUIRED")
    api.set_client_license(drone, ["models"])
    listed = api.client.get("/resources", headers=drone.headers).json()
    assert [r["name"] for r in listed["results"]] == ["live.bin"] and listed["count"] == 1
    for params in ({"alive": "false"}, {"published": "false"}, {"category": "other"}, {"name": "^d"}):
        assert api.client.get("/resources", params=params, headers=drone.headers).json()["results"] == []
    assert_error(
        api.client.get("/resources", params={"folder": "maps"}, headers=drone.headers),
        403,
        "FOLDER_NOT_LICENSED",
    )
    assert api.client.get("/resources/models/live.bin", headers=drone.headers).status_code == 200
    assert_error(api.client.get("/resources/models/draft.bin", headers=drone.headers), 404, "NOT_FOUND")
    assert_error(
        api.client.get("/resources/maps/city.map", headers=drone.headers), 403, "FOLDER_NOT_LICENSED"
    )
