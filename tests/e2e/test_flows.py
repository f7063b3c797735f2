"""Every flow of the seed as a user runs it: real server, PostgreSQL, S3 emulator, compiled client."""

from __future__ import annotations

import hashlib
import os

import pytest

import azaion
from azaion import RoleEnum

FOLDER = "models"


@pytest.mark.parametrize("role", ["ApiAdmin", "Admin", "ResourceUploader", "Validator", "Operator"])
def test_login_as_each_role(make_account, connect, role):
    account = make_account(role)
    client = connect(account)
    assert client.user.role == getattr(RoleEnum, role)
    assert client.user.email == account.email
    assert client.is_authenticated()
    assert client.cdn_manager.creds.host.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("size", [0, 1, 3 * 1024 + 1, 1_000_003, 5 * (1 << 20) + 17])
def test_push_then_pull_across_users(make_account, connect, size):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    data = os.urandom(size)
    name = f"model-{size}.onnx"
    connect(uploader, cache="uploader").upload_big_small_resource(data, name, FOLDER)
    client = connect(operator, device="operator-device", cache="operator")
    assert client.load_big_small_resource(name, FOLDER) == data  # cold: from the CDN
    assert client.load_big_small_resource(name, FOLDER) == data  # warm: from the cache


@pytest.mark.slow
def test_large_resource(make_account, connect):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    data = os.urandom(64 * (1 << 20) + 3)
    connect(uploader, cache="uploader").upload_big_small_resource(data, "large.bin", FOLDER)
    loaded = connect(operator, device="op", cache="operator").load_big_small_resource("large.bin", FOLDER)
    assert hashlib.sha256(loaded).digest() == hashlib.sha256(data).digest()


def test_warm_cache_is_used(make_account, connect, live, s3_endpoint, tmp_path):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    connect(uploader, cache="uploader").upload_big_small_resource(b"w" * 100_000, "warm.bin", FOLDER)
    client = connect(operator, device="op", cache="operator")
    assert client.load_big_small_resource("warm.bin", FOLDER) == b"w" * 100_000
    bucket = live.env["AZAION_S3_BUCKET"]
    s3 = s3_endpoint.client()
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=f"{FOLDER}/warm.bin.")["Contents"]:
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    assert client.load_big_small_resource("warm.bin", FOLDER) == b"w" * 100_000


def test_pull_after_update_replaces_the_stale_cache(make_account, connect):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    up = connect(uploader, cache="uploader")
    up.upload_big_small_resource(os.urandom(400_000), "updated.bin", FOLDER)
    client = connect(operator, device="op", cache="operator")
    client.load_big_small_resource("updated.bin", FOLDER)
    v2 = os.urandom(500_000)
    up.upload_big_small_resource(v2, "updated.bin", FOLDER)
    assert client.load_big_small_resource("updated.bin", FOLDER) == v2


def test_wrong_password(make_account, live):
    account = make_account("Operator")
    with azaion.ApiClient(live.url) as client, pytest.raises(azaion.AuthenticationError) as info:
        client.set_credentials_from_dict(account.email, account.password + "x")
    assert info.value.code == "INVALID_CREDENTIALS"
    with azaion.ApiClient(live.url) as client, pytest.raises(azaion.AuthenticationError) as unknown:
        client.set_credentials_from_dict("nobody@e2e.local", "whatever-password")
    assert (unknown.value.code, unknown.value.status) == (info.value.code, info.value.status)


def test_second_device_refused_until_the_admin_revokes_the_first(make_account, connect, live):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    connect(uploader, cache="uploader").upload_big_small_resource(b"weights", "bound.bin", FOLDER)
    connect(operator, device="first-device").load_big_small_resource("bound.bin", FOLDER)
    [first] = live.devices(operator.id)
    assert first["state"] == "active" and first["hardware"] is not None
    with pytest.raises(azaion.DeviceError) as refused:
        connect(operator, device="second-device", cache="second")
    assert refused.value.code == "DEVICE_LIMIT"
    live.revoke_devices(operator.id)
    assert (
        connect(operator, device="second-device", cache="second").load_big_small_resource("bound.bin", FOLDER)
        == b"weights"
    )
    with pytest.raises(azaion.DeviceError) as revoked:
        connect(operator, device="first-device", cache="first-again")
    assert revoked.value.code == "DEVICE_REVOKED"


def test_expired_licence(make_account, connect):
    uploader = make_account("ResourceUploader")
    connect(uploader, cache="uploader").upload_big_small_resource(b"weights", "lic.bin", FOLDER)
    expired = make_account("Operator", license_days=-1)
    client = connect(expired, device="op")
    with pytest.raises(azaion.LicenseExpired):
        client.load_big_small_resource("lic.bin", FOLDER)


def test_operator_without_licence_or_outside_its_folders(make_account, connect):
    uploader = make_account("ResourceUploader")
    up = connect(uploader, cache="uploader")
    up.upload_big_small_resource(b"weights", "folders.bin", FOLDER)
    up.upload_big_small_resource(b"other", "folders.bin", "restricted")
    unlicensed = connect(make_account("Operator", license_days=None), device="a", cache="a")
    with pytest.raises(azaion.LicenseError) as info:
        unlicensed.load_big_small_resource("folders.bin", FOLDER)
    assert info.value.code == "LICENSE_REQUIRED"
    licensed = connect(make_account("Operator"), device="b", cache="b")
    with pytest.raises(azaion.LicenseError) as info:
        licensed.load_big_small_resource("folders.bin", "restricted")
    assert info.value.code == "FOLDER_NOT_LICENSED"
    assert licensed.load_big_small_resource("folders.bin", FOLDER) == b"weights"


def test_operator_may_not_upload(make_account, connect):
    client = connect(make_account("Operator"), device="op")
    with pytest.raises(azaion.PermissionDenied):
        client.upload_big_small_resource(b"x", "nope.bin", FOLDER)


def test_missing_resource(make_account, connect):
    client = connect(make_account("Operator"), device="op")
    with pytest.raises(azaion.ResourceNotFound):
        client.load_big_small_resource("never-uploaded.bin", FOLDER)


def test_logout_revokes_the_token(make_account, connect, live):
    client = connect(make_account("Operator"), device="op")
    token = client.token
    client.logout()
    answer = live.http.get(
        f"{live.url}/license/info", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 401


def test_licence_calls(make_account, connect):
    client = connect(make_account("Operator"), device="op")
    info = client.license_info()
    assert info["plan"] == "standard" and info["folders"] == [FOLDER]
    assert client.validate_license()["valid"] is True


def test_one_uploader_cannot_overwrite_anothers_big_part(make_account, connect, live, s3_endpoint):
    alice, bob, operator = (
        make_account("ResourceUploader"),
        make_account("ResourceUploader"),
        make_account("Operator"),
    )
    data = os.urandom(9 * (1 << 20) + 5)  # a multipart upload: two signed part URLs
    connect(alice, cache="alice").upload_big_small_resource(data, "owned.bin", FOLDER)
    bucket = live.env["AZAION_S3_BUCKET"]
    listed = s3_endpoint.client().list_objects_v2(Bucket=bucket, Prefix=f"{FOLDER}/owned.bin.")["Contents"]
    before = {o["Key"]: o["ETag"] for o in listed}
    with pytest.raises(azaion.PermissionDenied):
        connect(bob, cache="bob").upload_big_small_resource(b"evil" * 1000, "owned.bin", FOLDER)
    listed = s3_endpoint.client().list_objects_v2(Bucket=bucket, Prefix=f"{FOLDER}/owned.bin.")["Contents"]
    assert {o["Key"]: o["ETag"] for o in listed} == before
    assert connect(operator, device="op", cache="op").load_big_small_resource("owned.bin", FOLDER) == data
