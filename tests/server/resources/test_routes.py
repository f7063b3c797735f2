"""Resources: uploads, envelopes, binding, roles, licences, versions, soft delete, limits."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.reference import envelope as reference
from tests.server.helpers import HW1, HW2, assert_error

STORAGES = ["db", "files"]


@pytest.fixture(params=STORAGES)
def storage_api(request, make_client):
    """The Api helper on an app with each storage in turn."""
    from tests.server.helpers import Api

    return Api(make_client(storage=request.param))


def test_upload_then_read_opens_with_the_reference(storage_api) -> None:
    api = storage_api
    data = os.urandom(5000)
    response = api.upload("models", "yolo.small", data, category="detector")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True
    resource = body["resource"]
    assert resource["folder"] == "models" and resource["name"] == "yolo.small"
    assert resource["size"] == len(data)
    assert resource["checksum"] == hashlib.sha256(data).hexdigest()
    assert resource["category"] == "detector"
    assert resource["published"] is True and resource["alive"] is True
    assert resource["uploaded"] == resource["modified"]
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    assert api.read(operator, "models", "yolo.small") == data


@pytest.mark.parametrize("size", [0, 1, 16, 1 << 20])
def test_sizes(storage_api, size: int) -> None:
    data = os.urandom(size)
    assert storage_api.upload("models", "blob", data).status_code == 201
    admin = storage_api.admin_person()
    assert storage_api.read(admin, "models", "blob") == data


def test_new_version_keeps_uploaded_and_changes_modified(storage_api) -> None:
    api = storage_api
    first = api.upload("models", "m.bin", b"one", category="a").json()["resource"]
    second = api.upload("models", "m.bin", b"two, longer").json()["resource"]
    assert second["id"] == first["id"]
    assert second["uploaded"] == first["uploaded"]
    assert second["modified"] > first["modified"]
    assert second["size"] == len(b"two, longer")
    assert second["category"] == "a"  # kept when not given
    assert api.read(api.admin_person(), "models", "m.bin") == b"two, longer"


def test_file_store_keeps_one_file_per_resource_and_no_temporaries(make_client, tmp_path) -> None:
    from tests.server.helpers import Api

    api = Api(make_client(storage="files", storage_dir=tmp_path / "store"))
    for data in (b"one", b"two", b"three"):
        api.upload("models", "m.bin", data)
    api.upload("models", "n.bin", b"other")
    files = sorted(p.relative_to(tmp_path / "store") for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert len(files) == 2
    assert all(p.parts[0] != ".tmp" for p in files)
    assert {p.name for p in files} == {
        hashlib.sha256(b"three").hexdigest(),
        hashlib.sha256(b"other").hexdigest(),
    }


def test_hardware_binding(api) -> None:
    admin_user = api.user("Admin")
    api.upload("models", "m.bin", b"data")
    assert api.get(admin_user, "models", "m.bin", hw=HW1).status_code == 200
    assert_error(api.get(admin_user, "models", "m.bin", hw=HW2), 403, "HARDWARE_MISMATCH")
    assert api.get(admin_user, "models", "m.bin", hw=HW1).status_code == 200
    api.client.delete(f"/users/{admin_user.id}/hardware", headers=api.admin)
    assert api.read(admin_user, "models", "m.bin", hw=HW2) == b"data"
    assert_error(api.get(admin_user, "models", "m.bin", hw=HW1), 403, "HARDWARE_MISMATCH")


def test_envelope_is_for_this_user_and_machine(api) -> None:
    person = api.user("Admin")
    api.upload("models", "m.bin", b"data")
    sealed = api.get(person, "models", "m.bin", hw=HW1).content
    with pytest.raises(reference.EnvelopeError):
        reference.open_(reference.user_keys(person.email, person.password, HW2), sealed)
    with pytest.raises(reference.EnvelopeError):
        reference.open_(reference.user_keys(person.email, "another password", HW1), sealed)


def test_wrong_password(api, no_secrets_logged) -> None:
    person = api.user("Admin")
    api.upload("models", "m.bin", b"data")
    response = api.get(person, "models", "m.bin", password="not-my-password")
    assert_error(response, 401, "INVALID_CREDENTIALS")
    # A wrong password binds nothing.
    assert api.get(person, "models", "m.bin", hw=HW2).status_code == 200
    no_secrets_logged("not-my-password", person.password)


def test_wrong_passwords_are_throttled(make_client) -> None:
    from tests.server.helpers import Api

    api = Api(make_client(login_max_attempts=3))
    person = api.user("Admin")
    api.upload("models", "m.bin", b"data")
    for _ in range(3):
        assert api.get(person, "models", "m.bin", password="bad-password").status_code == 401
    response = api.get(person, "models", "m.bin")
    assert_error(response, 429, "TOO_MANY_ATTEMPTS")
    assert int(response.headers["Retry-After"]) >= 1


def test_password_check_is_cached(api, monkeypatch: pytest.MonkeyPatch) -> None:
    person = api.user("Admin")
    api.upload("models", "m.bin", b"data")
    assert api.get(person, "models", "m.bin").status_code == 200
    passwords = api.client.app.state.context.passwords
    monkeypatch.setattr(passwords, "verify", lambda *a: pytest.fail("argon2 on the hot path"))
    assert api.get(person, "models", "m.bin").status_code == 200
    monkeypatch.undo()
    assert api.get(person, "models", "m.bin", password="different").status_code == 401


@pytest.mark.parametrize(
    ("role", "published", "alive", "own", "visible"),
    [
        ("ApiAdmin", False, False, False, True),
        ("Admin", False, False, False, True),
        ("Admin", True, True, False, True),
        ("Validator", False, True, False, True),
        ("Validator", True, True, False, True),
        ("Validator", True, False, False, False),
        ("ResourceUploader", True, True, False, True),
        ("ResourceUploader", False, True, False, False),
        ("ResourceUploader", False, True, True, True),
        ("ResourceUploader", True, False, True, True),
        ("Operator", True, True, False, True),
        ("Operator", False, True, False, False),
        ("Operator", True, False, False, False),
    ],
)
def test_read_policy(api, role: str, published: bool, alive: bool, own: bool, visible: bool) -> None:
    person = api.user(role)
    api.set_license(person, ["models"])
    headers = person.headers if own else api.admin
    response = api.upload("models", "m.bin", b"data", headers=headers, draft="false" if published else "true")
    assert response.status_code == 201, response.text
    assert response.json()["resource"]["published"] is published
    if not alive:
        assert api.client.delete("/resources/models/m.bin", headers=api.admin).status_code == 200
    response = api.get(person, "models", "m.bin")
    if visible:
        assert response.status_code == 200
    else:
        assert_error(response, 404, "NOT_FOUND")


def test_missing_resource_is_404(api) -> None:
    assert_error(api.get(api.admin_person(), "models", "nothing-here"), 404, "NOT_FOUND")


def test_operator_licence_checks(api) -> None:
    person = api.user("Operator")
    api.upload("models", "m.bin", b"data")
    api.upload("maps", "m.bin", b"map")
    assert_error(api.get(person, "models", "m.bin"), 403, "LICENSE_REQUIRED")
    api.set_license(person, ["maps"])
    assert_error(api.get(person, "models", "m.bin"), 403, "FOLDER_NOT_LICENSED")
    # The licence is checked before existence: nothing leaks about other folders.
    assert_error(api.get(person, "models", "no-such-thing"), 403, "FOLDER_NOT_LICENSED")
    assert api.read(person, "maps", "m.bin") == b"map"
    api.set_license(person, ["maps", "models"], expires_at="2000-01-01T00:00:00Z")
    assert_error(api.get(person, "models", "m.bin"), 403, "LICENSE_EXPIRED")


@pytest.mark.parametrize("role", ["ApiAdmin", "Admin", "ResourceUploader", "Validator", "Operator"])
def test_cdn_yaml_for_every_role_without_licence(make_client, s3_endpoint, role: str) -> None:
    import yaml

    from tests.server.helpers import Api

    api = Api(
        make_client(
            s3_endpoint=s3_endpoint.url,
            s3_bucket="cdn-test-bucket",
            s3_downloader_key="dk",
            s3_downloader_secret="ds",
            s3_uploader_key="uk",
            s3_uploader_secret="us",
        )
    )
    person = api.user(role)
    document = yaml.safe_load(api.read(person, "system", "cdn.yaml"))
    assert document == {
        "host": s3_endpoint.url,
        "bucket": "cdn-test-bucket",
        "region": "us-east-1",
        "downloader_access_key": "dk",
        "downloader_access_secret": "ds",
        # No role gets the writing keys: uploads go through signed URLs (resources/bigparts.py).
        "uploader_access_key": "",
        "uploader_access_secret": "",
    }
    assert list(document) == [
        "host",
        "bucket",
        "region",
        "downloader_access_key",
        "downloader_access_secret",
        "uploader_access_key",
        "uploader_access_secret",
    ]


def test_cdn_yaml_needs_the_password_and_binds(api, make_client) -> None:
    from tests.server.helpers import Api

    api = Api(make_client(s3_endpoint="http://127.0.0.1:9"))
    person = api.user("Operator")
    assert_error(api.get(person, "system", "cdn.yaml", password="wrong-one"), 401, "INVALID_CREDENTIALS")
    assert api.get(person, "system", "cdn.yaml", hw=HW1).status_code == 200
    assert_error(api.get(person, "system", "cdn.yaml", hw=HW2), 403, "HARDWARE_MISMATCH")
    assert_error(api.get(person, "system", "other.yaml", hw=HW1), 404, "NOT_FOUND")


def test_cdn_yaml_without_s3_settings_is_404(api) -> None:
    assert_error(api.get(api.user("Operator"), "system", "cdn.yaml"), 404, "NOT_FOUND")


@pytest.mark.parametrize("role", ["Validator", "Operator"])
def test_readers_cannot_upload(api, role: str) -> None:
    person = api.user(role)
    assert_error(api.upload("models", "m.bin", b"x", headers=person.headers), 403, "FORBIDDEN")


@pytest.mark.parametrize("role", ["ApiAdmin", "Admin", "ResourceUploader"])
def test_uploader_roles_can_upload(api, role: str) -> None:
    person = api.user(role)
    response = api.upload("models", f"by-{role}", b"x", headers=person.headers)
    assert response.status_code == 201
    assert response.json()["resource"]["owner_id"] == person.id


def test_uploader_cannot_replace_someone_elses_resource(api) -> None:
    first, second = api.user("ResourceUploader"), api.user("ResourceUploader")
    assert api.upload("models", "m.bin", b"one", headers=first.headers).status_code == 201
    assert_error(api.upload("models", "m.bin", b"two", headers=second.headers), 403, "FORBIDDEN")
    assert api.upload("models", "m.bin", b"three", headers=first.headers).status_code == 201
    # Admins may, and the owner stays.
    replaced = api.upload("models", "m.bin", b"four").json()["resource"]
    assert replaced["owner_id"] == first.id


def test_upload_needs_a_token(client) -> None:
    response = client.post("/resources/models", files={"data": ("m.bin", b"x")})
    assert_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("folder", ["system", "SYSTEM", ".hidden", "CON", "a%5Cb"])
def test_upload_to_invalid_or_reserved_folder(api, folder: str) -> None:
    assert_error(api.upload(folder, "m.bin", b"x"), 400, "INVALID_NAME")


def _raw_upload(api, folder: str, filename: bytes, data: bytes = b"x"):
    # Built by hand: HTTP clients escape control characters in filenames themselves.
    body = (
        b'--x\r\nContent-Disposition: form-data; name="data"; filename="'
        + filename
        + b'"\r\n\r\n'
        + data
        + b"\r\n--x--\r\n"
    )
    return api.client.post(
        f"/resources/{folder}",
        content=body,
        headers={**api.admin, "Content-Type": "multipart/form-data; boundary=x"},
    )


@pytest.mark.parametrize(
    "name", ["..", ".env", "a/b", "a\\b", "nul", "x" * 256, "tab\tname", "dir/../../etc"]
)
def test_upload_invalid_file_name(api, name: str) -> None:
    assert_error(_raw_upload(api, "models", name.encode()), 400, "INVALID_NAME")


def test_upload_empty_file_name(api) -> None:
    assert_error(_raw_upload(api, "models", b""), 400, "INVALID_NAME")


def test_upload_unicode_file_name(api) -> None:
    response = _raw_upload(api, "models", "модель.bin".encode(), b"data")
    assert response.status_code == 201
    assert api.read(api.admin_person(), "models", "модель.bin") == b"data"


@pytest.mark.parametrize("name", ["..", "x" * 256, ".hidden", "CON"])
def test_get_invalid_names(api, name: str) -> None:
    person = api.admin_person()
    assert_error(api.get(person, "models", name), 400, "INVALID_NAME")
    folder = "%2E%2E" if name == ".." else name  # a client would resolve a literal ".."
    assert_error(api.get(person, folder, "m.bin"), 400, "INVALID_NAME")


@pytest.mark.parametrize(
    "body",
    [
        {"password": "x", "hardware": HW1},
        {"fileName": "m.bin", "hardware": HW1},
        {"fileName": "m.bin", "password": "x"},
        {"fileName": "m.bin", "password": "x", "hardware": "not-a-hash"},
        {"fileName": "m.bin", "password": "x", "hardware": HW1.upper()},
    ],
)
def test_get_malformed_body(api, body: dict) -> None:
    response = api.client.post("/resources/get/models", json=body, headers=api.admin)
    assert_error(response, 400, "BAD_REQUEST")


def test_get_needs_a_token(client) -> None:
    response = client.post("/resources/get/models", json={"fileName": "m", "password": "p", "hardware": HW1})
    assert_error(response, 401, "UNAUTHORIZED")


def test_draft_values(api) -> None:
    for value, published in [("true", False), ("1", False), ("False", True), ("0", True), ("", True)]:
        response = api.upload("models", "m.bin", b"x", draft=value)
        assert response.json()["resource"]["published"] is published, value
    assert_error(api.upload("models", "m.bin", b"x", draft="maybe"), 400, "BAD_REQUEST")
    assert_error(api.upload("models", "m.bin", b"x", category="c" * 256), 400, "BAD_REQUEST")


def test_upload_too_large(make_client) -> None:
    from tests.server.helpers import Api

    api = Api(make_client(max_upload_bytes=1000))
    assert api.upload("models", "ok.bin", b"x" * 1000).status_code == 201
    assert_error(api.upload("models", "big.bin", b"x" * 1001), 413, "TOO_LARGE")
    # Far above the limit: refused on the declared length before reading the body.
    assert_error(api.upload("models", "huge.bin", b"x" * 200_000), 413, "TOO_LARGE")
    assert_error(api.get(api.admin_person(), "models", "big.bin"), 404, "NOT_FOUND")


def test_upload_too_large_without_content_length(make_client) -> None:
    from tests.server.helpers import Api

    api = Api(make_client(max_upload_bytes=1000))
    boundary = "b0undary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="data"; filename="big"\r\n\r\n').encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    consumed = []

    def chunks():
        yield head
        for _ in range(100):  # a body that never says how long it is, 1 MB if read to the end
            consumed.append(1)
            yield b"x" * 10_000
        yield tail

    response = api.client.post(
        "/resources/models",
        content=chunks(),
        headers={**api.admin, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_error(response, 413, "TOO_LARGE")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{}"),
        ("multipart/form-data", b"--x\r\n"),  # no boundary
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="other"\r\n\r\nv\r\n--x--\r\n',
        ),
        ("multipart/form-data; boundary=x", b"garbage that is not multipart at all"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="data"\r\n\r\nv\r\n--x--\r\n',
        ),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="data"; filename="\xff\xfe"\r\n\r\nv\r\n--x--\r\n',
        ),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="category"\r\n\r\n\xff\xfe\r\n--x--\r\n',
        ),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="category"\r\n\r\n'
            + b"c" * 2000
            + b"\r\n--x--\r\n",
        ),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="data"; filename="a"\r\n\r\nv\r\n'
            b'--x\r\nContent-Disposition: form-data; name="data"; filename="b"\r\n\r\nv\r\n--x--\r\n',
        ),
    ],
    ids=[
        "json",
        "no-boundary",
        "no-data-part",
        "garbage",
        "data-not-a-file",
        "filename-not-utf8",
        "field-not-utf8",
        "field-too-long",
        "two-files",
    ],
)
def test_malformed_upload(api, content_type: str, body: bytes) -> None:
    response = api.client.post(
        "/resources/models", content=body, headers={**api.admin, "Content-Type": content_type}
    )
    assert_error(response, 400, "BAD_REQUEST")


def test_unknown_form_parts_are_ignored(api) -> None:
    response = api.client.post(
        "/resources/models",
        files={"data": ("m.bin", b"bytes")},
        data={"comment": "ignored", "category": "cat"},
        headers=api.admin,
    )
    assert response.status_code == 201
    assert response.json()["resource"]["category"] == "cat"


def test_soft_delete(api) -> None:
    api.upload("models", "m.bin", b"data")
    response = api.client.delete("/resources/models/m.bin", headers=api.admin)
    assert response.status_code == 200
    resource = response.json()["resource"]
    assert resource["alive"] is False
    # Bytes kept: an admin still reads it; a new upload revives it.
    assert api.read(api.admin_person(), "models", "m.bin") == b"data"
    assert api.upload("models", "m.bin", b"again").json()["resource"]["alive"] is True
    assert_error(api.client.delete("/resources/models/nothing", headers=api.admin), 404, "NOT_FOUND")
    assert_error(api.client.delete("/resources/models/.env", headers=api.admin), 400, "INVALID_NAME")


@pytest.mark.parametrize("role", ["ResourceUploader", "Validator", "Operator"])
def test_only_admins_delete(api, role: str) -> None:
    person = api.user(role)
    api.upload("models", "m.bin", b"data")
    assert_error(api.client.delete("/resources/models/m.bin", headers=person.headers), 403, "FORBIDDEN")


def test_corrupt_storage_is_500_without_detail(make_client, tmp_path, caplog) -> None:
    from tests.server.helpers import Api

    api = Api(make_client(storage="files", storage_dir=tmp_path / "store"))
    api.upload("models", "m.bin", b"data")
    stored = next(p for p in (tmp_path / "store").rglob("*") if p.is_file() and ".tmp" not in p.parts)
    stored.write_bytes(b"tampered")
    body = assert_error(api.get(api.admin_person(), "models", "m.bin"), 500, "INTERNAL")
    assert body["message"] == "internal server error"
    assert "corrupt" in caplog.text
    stored.unlink()
    assert_error(api.get(api.admin_person(), "models", "m.bin"), 500, "INTERNAL")


def test_corrupt_database_blob_is_500(api, clean_db) -> None:
    from azaion_server.resources.entities import ResourceBlob
    from sqlalchemy import update

    api.upload("models", "m.bin", b"data")
    with clean_db.begin() as connection:
        connection.execute(update(ResourceBlob).values(data=b"tampered"))
    assert_error(api.get(api.admin_person(), "models", "m.bin"), 500, "INTERNAL")
