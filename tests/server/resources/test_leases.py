"""Offline leases through the app (docs/protocol.md, `Azaion-Lease`): issued with a device's
online load when the licence has `offline_hours`, verified with the published JWKS, every claim
as docs/formats.md (section 8) says, bounded three ways, never for `cdn.yaml`, the v1 envelope,
a pending or a revoked device; audited; and still verifiable after a key rotation."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from typing import Any

import pytest

from tests.reference import lease as reference
from tests.reference.device import Device
from tests.server.devices.test_devices import FOLDER, NAME, SMALL, enrol, get, login
from tests.server.helpers import Api, Person, assert_error

HEADER = "Azaion-Lease"
FAR = "2999-01-01T00:00:00Z"


@pytest.fixture
def api(make_client: Any) -> Api:
    """The app on the device path (the v1 envelope off), with one resource in FOLDER."""
    api = Api(make_client(legacy_envelope=False))
    assert api.upload(FOLDER, NAME, SMALL).status_code == 201
    return api


def operator(api: Api, offline_hours: int, expires_at: str = FAR) -> Person:
    """An Operator licensed for FOLDER, `offline_hours` offline."""
    person = api.user("Operator")
    api.set_license(person, [FOLDER], expires_at=expires_at, offline_hours=offline_hours)
    return person


def enrolled(api: Api, person: Person) -> tuple[Device, str]:
    """A device of `person`, enrolled (active), and its bound token."""
    device = Device()
    token = login(api, person, device)
    assert enrol(api, token, device).status_code == 201
    return device, token


def jwks(api: Api) -> dict[str, Any]:
    response = api.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return dict(response.json())


def audit(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = api.client.get("/audit", params=params, headers=api.admin)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def test_an_online_load_brings_a_lease_with_every_claim(api: Api) -> None:
    person = operator(api, offline_hours=24)
    device, token = enrolled(api, person)
    before = int(time.time())
    answer = get(api, token, device)
    after = int(time.time())
    assert answer.status_code == 200, answer.text
    lease = answer.headers[HEADER]
    assert device.open(answer.content, FOLDER, NAME) == SMALL
    # Signed by the key the JWKS publishes under the header's kid (and by nothing else).
    claims = reference.verify(lease, jwks(api), answer.content)
    header = reference.unb64url(lease.split(".")[0])
    assert header == (
        b'{"alg":"EdDSA","kid":"' + jwks(api)["keys"][0]["kid"].encode() + b'","typ":"azaion-lease+jwt"}'
    )
    assert claims == {
        "iss": "azaion",
        "sub": str(person.id),
        "device": device.id,
        "cnf": {"jkt": device.jkt},
        "folder": FOLDER,
        "name": NAME,
        "version": bytes(range(16)).hex(),  # the version id of the sealed answer
        "sha256": hashlib.sha256(SMALL).hexdigest(),
        "sealed_sha256": hashlib.sha256(answer.content).hexdigest(),
        "iat": claims["iat"],
        "nbf": claims["iat"],
        "exp": claims["iat"] + 24 * 3600,
        "jti": claims["jti"],
    }
    assert before <= claims["iat"] <= after and re.fullmatch(r"[0-9a-f]{32}", claims["jti"])
    version = answer.content[2 : 2 + answer.content[1]].decode()
    assert version == claims["version"]
    # Every load gets its own lease.
    again = get(api, token, device)
    assert reference.verify(again.headers[HEADER], jwks(api), again.content)["jti"] != claims["jti"]
    # The lease of one answer does not vouch for another answer (another sealing, the same plaintext).
    with pytest.raises(reference.BadLease, match="body"):
        reference.verify(lease, jwks(api), again.content)


def test_the_licence_expiry_bounds_the_lease(api: Api) -> None:
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).replace(microsecond=0)
    person = operator(api, offline_hours=24, expires_at=expires.isoformat())
    device, token = enrolled(api, person)
    answer = get(api, token, device)
    claims = reference.verify(answer.headers[HEADER], jwks(api), answer.content)
    assert claims["exp"] == int(expires.timestamp())


def test_azaion_lease_max_hours_bounds_the_lease(make_client: Any) -> None:
    api = Api(make_client(legacy_envelope=False, lease_max_hours=3))
    assert api.upload(FOLDER, NAME, SMALL).status_code == 201
    person = operator(api, offline_hours=100)
    device, token = enrolled(api, person)
    answer = get(api, token, device)
    claims = reference.verify(answer.headers[HEADER], jwks(api), answer.content)
    assert claims["exp"] - claims["iat"] == 3 * 3600


def test_no_lease_without_offline_hours_or_without_a_licence(api: Api) -> None:
    person = operator(api, offline_hours=0)
    device, token = enrolled(api, person)
    answer = get(api, token, device)
    assert answer.status_code == 200 and HEADER not in answer.headers
    # An Admin reads without a licence: sealed, but nothing to lease under.
    admin = api.user("Admin")
    device, token = enrolled(api, admin)
    answer = get(api, token, device)
    assert answer.status_code == 200 and HEADER not in answer.headers
    assert audit(api, mode="lease") == []


def test_an_admin_with_an_offline_licence_gets_a_lease(api: Api) -> None:
    admin = api.user("Admin")
    api.set_license(admin, [], offline_hours=5)  # folders do not limit an Admin's reads
    device, token = enrolled(api, admin)
    answer = get(api, token, device)
    assert reference.verify(answer.headers[HEADER], jwks(api), answer.content)["sub"] == str(admin.id)


def test_no_lease_for_cdn_yaml(make_client: Any, s3_endpoint: Any, s3_bucket: str) -> None:
    api = Api(
        make_client(
            legacy_envelope=False, s3_endpoint=s3_endpoint.url, s3_bucket=s3_bucket, s3_downloader_key="dk"
        )
    )
    person = operator(api, offline_hours=24)
    device, token = enrolled(api, person)
    answer = get(api, token, device, name="cdn.yaml", folder="system")
    assert answer.status_code == 200 and HEADER not in answer.headers
    assert b"dk" in device.open(answer.content, "system", "cdn.yaml")
    assert audit(api, mode="lease") == []


def test_no_lease_in_the_v1_envelope(make_client: Any) -> None:
    api = Api(make_client(legacy_envelope=True))
    assert api.upload(FOLDER, NAME, SMALL).status_code == 201
    person = operator(api, offline_hours=24)
    answer = api.get(person, FOLDER, NAME)
    assert answer.status_code == 200 and HEADER not in answer.headers
    assert audit(api, mode="lease") == []


def test_no_lease_for_a_pending_device(make_client: Any) -> None:
    api = Api(make_client(legacy_envelope=False, device_enrolment="approval"))
    assert api.upload(FOLDER, NAME, SMALL).status_code == 201
    person = operator(api, offline_hours=24)
    device = Device()
    token = login(api, person, device)
    assert enrol(api, token, device).json()["state"] == "pending"
    answer = get(api, token, device)
    assert_error(answer, 403, "DEVICE_PENDING")
    assert HEADER not in answer.headers and audit(api, action="small_part") == []


def test_no_lease_after_revocation(api: Api) -> None:
    person = operator(api, offline_hours=24)
    device, token = enrolled(api, person)
    assert HEADER in get(api, token, device).headers
    revoked = api.client.post(f"/devices/{device.id}/revoke", headers=api.admin)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    answer = get(api, token, device)
    assert_error(answer, 401, "DEVICE_REVOKED")
    assert HEADER not in answer.headers
    fresh = login(api, person, device)  # a new login brings nothing back
    answer = get(api, fresh, device)
    assert_error(answer, 401, "DEVICE_REVOKED")
    assert HEADER not in answer.headers
    assert len(audit(api, mode="lease")) == 1  # the one before the revocation


def test_a_lease_signed_before_a_rotation_still_verifies(api: Api) -> None:
    person = operator(api, offline_hours=24)
    device, token = enrolled(api, person)
    first = get(api, token, device)
    rotated = api.client.post("/signing-keys/rotate", headers=api.admin)
    assert rotated.status_code == 201, rotated.text
    published = jwks(api)
    assert [k["kid"] for k in published["keys"]] == [rotated.json()["kid"], _kid(first.headers[HEADER])]
    assert reference.verify(first.headers[HEADER], published, first.content)["device"] == device.id
    # New leases are signed by the new key; the old one's JWKS entry alone would not verify them.
    second = get(api, token, device)
    assert _kid(second.headers[HEADER]) == rotated.json()["kid"]
    assert reference.verify(second.headers[HEADER], published, second.content)
    old_only = {"keys": [k for k in published["keys"] if k["kid"] != rotated.json()["kid"]]}
    with pytest.raises(reference.BadLease):
        reference.verify(second.headers[HEADER], old_only, second.content)


def _kid(lease: str) -> str:
    return str(json.loads(reference.unb64url(lease.split(".")[0]))["kid"])


def test_a_lease_is_audited_beside_its_small_part(api: Api) -> None:
    person = operator(api, offline_hours=24)
    device, token = enrolled(api, person)
    answer = get(api, token, device)
    claims = reference.verify(answer.headers[HEADER], jwks(api), answer.content)
    lease_row, online_row = audit(api, action="small_part", actor=str(person.id))
    assert online_row["mode"] == "online" and lease_row["mode"] == "lease"
    assert lease_row["id"] == online_row["id"] + 1  # one transaction, in this order
    same = ("actor", "actor_name", "device", "folder", "name", "version", "address")
    assert {k: lease_row[k] for k in same} == {k: online_row[k] for k in same}
    assert (lease_row["device"], lease_row["version"]) == (str(device.id), claims["version"])
    expires = dt.datetime.fromtimestamp(claims["exp"], dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert lease_row["detail"] == f"jti={claims['jti']} exp={expires}"
    assert audit(api, mode="lease", device=str(device.id)) == [lease_row]
