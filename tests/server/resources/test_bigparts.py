"""Big parts go up through URLs the server signs for the caller's own objects; no client holds
a key that writes to the bucket (moto accepts any key pair, so this checks behaviour: who gets
a URL for which object, and what `cdn.yaml` hands out)."""

from __future__ import annotations

import os

import httpx
import pytest
import yaml

from tests.server.helpers import Api, assert_error

V1 = "11" * 16
V2 = "22" * 16


@pytest.fixture
def cdn_api(make_client, s3_endpoint, s3_bucket) -> Api:
    return Api(
        make_client(
            s3_endpoint=s3_endpoint.url,
            s3_bucket=s3_bucket,
            s3_downloader_key="dk",
            s3_downloader_secret="ds",
            s3_uploader_key=s3_endpoint.uploader_key,
            s3_uploader_secret=s3_endpoint.uploader_secret,
        )
    )


def _grant(api: Api, headers: dict, name: str, version: str, size: int, folder: str = "models"):
    return api.client.post(
        f"/resources/{folder}/{name}/big", json={"version": version, "size": size}, headers=headers
    )


def _keys(s3_endpoint, bucket: str) -> set[str]:
    return {o["Key"] for o in s3_endpoint.client().list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_an_uploader_puts_its_own_big_part_through_a_signed_url(cdn_api, s3_endpoint, s3_bucket) -> None:
    alice = cdn_api.user("ResourceUploader")
    answer = _grant(cdn_api, alice.headers, "m.bin", V1, 1000)
    assert answer.status_code == 200, answer.text
    grant = answer.json()
    assert grant["key"] == f"models/m.bin.{V1}.big" and grant["upload_id"] is None
    data = os.urandom(1000)
    assert httpx.put(grant["url"], content=data).status_code == 200
    body = s3_endpoint.client().get_object(Bucket=s3_bucket, Key=grant["key"])["Body"].read()
    assert body == data
    assert s3_endpoint.uploader_secret not in answer.text


def test_another_uploader_gets_no_url_for_a_name_it_does_not_own(cdn_api) -> None:
    alice = cdn_api.user("ResourceUploader")
    bob = cdn_api.user("ResourceUploader")
    assert cdn_api.upload("models", "m.bin", b"small part of alice", headers=alice.headers).status_code == 201
    assert_error(_grant(cdn_api, bob.headers, "m.bin", V2, 1000), 403, "FORBIDDEN")
    assert_error(_grant(cdn_api, bob.headers, "m.bin", V2, 50 * 1024 * 1024), 403, "FORBIDDEN")
    complete = cdn_api.client.post(
        "/resources/models/m.bin/big/complete",
        json={"version": V1, "upload_id": "x", "etags": ["e"]},
        headers=bob.headers,
    )
    assert_error(complete, 403, "FORBIDDEN")
    assert _grant(cdn_api, alice.headers, "m.bin", V2, 1000).status_code == 200  # the owner may
    assert _grant(cdn_api, cdn_api.admin, "m.bin", V2, 1000).status_code == 200  # and an Admin
    assert _grant(cdn_api, bob.headers, "other.bin", V2, 1000).status_code == 200  # a new name: anyone


@pytest.mark.parametrize("role", ["Operator", "Validator"])
def test_readers_get_no_upload_url(cdn_api, role: str) -> None:
    person = cdn_api.user(role)
    assert_error(_grant(cdn_api, person.headers, "m.bin", V1, 10), 403, "FORBIDDEN")


@pytest.mark.parametrize(
    "body",
    [{"version": "x" * 32, "size": 1}, {"version": "AB" * 16, "size": 1}, {"version": V1, "size": -1}, {}],
)
def test_bad_grant_requests(cdn_api, body: dict) -> None:
    answer = cdn_api.client.post("/resources/models/m.bin/big", json=body, headers=cdn_api.admin)
    assert_error(answer, 400, "BAD_REQUEST")
    assert_error(_grant(cdn_api, cdn_api.admin, "m.bin", V1, 1, folder="system"), 400, "INVALID_NAME")


def test_a_multipart_upload_through_signed_part_urls(cdn_api, s3_endpoint, s3_bucket) -> None:
    alice = cdn_api.user("ResourceUploader")
    size = 17 * 1024 * 1024
    grant = _grant(cdn_api, alice.headers, "big.bin", V1, size).json()
    assert grant["url"] is None and grant["upload_id"] and len(grant["parts"]) == 3
    data = os.urandom(size)
    step = grant["part_size"]
    etags = []
    for number, url in enumerate(grant["parts"]):
        answer = httpx.put(url, content=data[number * step : (number + 1) * step], timeout=60)
        assert answer.status_code == 200
        etags.append(answer.headers["ETag"])
    done = cdn_api.client.post(
        "/resources/models/big.bin/big/complete",
        json={"version": V1, "upload_id": grant["upload_id"], "etags": etags},
        headers=alice.headers,
    )
    assert done.status_code == 200, done.text
    body = s3_endpoint.client().get_object(Bucket=s3_bucket, Key=grant["key"])["Body"].read()
    assert body == data


def test_an_aborted_multipart_upload_leaves_nothing(cdn_api, s3_endpoint, s3_bucket) -> None:
    grant = _grant(cdn_api, cdn_api.admin, "gone.bin", V1, 20 * 1024 * 1024).json()
    assert httpx.delete(grant["abort_url"]).status_code == 204
    assert not s3_endpoint.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads")


def test_a_new_small_part_removes_the_older_big_parts(cdn_api, s3_endpoint, s3_bucket) -> None:
    client = s3_endpoint.client()
    for key in (f"models/v.bin.{V1}.big", f"models/v.bin.{V2}.big", f"models/v.bin.x.{V1}.big"):
        client.put_object(Bucket=s3_bucket, Key=key, Body=b"x")
    small = b"\x00" * 10 + bytes.fromhex(V2) + b"rest of the small part"
    assert cdn_api.upload("models", "v.bin", small).status_code == 201
    assert _keys(s3_endpoint, s3_bucket) == {f"models/v.bin.{V2}.big", f"models/v.bin.x.{V1}.big"}


@pytest.mark.parametrize("role", ["ApiAdmin", "Admin", "ResourceUploader", "Operator"])
def test_cdn_yaml_hands_out_no_writing_keys(cdn_api, s3_endpoint, role: str) -> None:
    person = cdn_api.user(role)
    if role == "Operator":
        cdn_api.set_license(person, ["models"])
    document = yaml.safe_load(cdn_api.read(person, "system", "cdn.yaml"))
    assert document["uploader_access_key"] == "" and document["uploader_access_secret"] == ""
    assert (document["downloader_access_key"], document["downloader_access_secret"]) == ("dk", "ds")
    assert s3_endpoint.uploader_secret.encode() not in cdn_api.read(person, "system", "cdn.yaml")


@pytest.mark.parametrize("etags", [[""], ['"0123"'], []])
def test_completing_an_upload_never_issued_is_a_bad_request(cdn_api, etags) -> None:
    # moto answers a 5xx for an upload id it never issued; that is the caller's error, not the
    # store's, even while another upload of the same object is in progress (schemathesis).
    grant = _grant(cdn_api, cdn_api.admin, "data.png", "0" * 32, 17 * 1024 * 1024, folder="0").json()
    assert grant["upload_id"]
    made_up = "MScC6IhlI996zKUAuVPE1ZyGIg8h5v5Ycyv6zLlDsV3lyOSsqqDOLSNEQ"
    done = cdn_api.client.post(
        "/resources/0/data.png/big/complete",
        json={"version": "0" * 32, "upload_id": made_up, "etags": etags},
        headers=cdn_api.admin,
    )
    assert_error(done, 400, "BAD_REQUEST")
