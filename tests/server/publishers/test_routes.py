"""Publisher keys, folder policies and release statements on upload (issue 15)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.reference import release
from tests.server.helpers import HW1, assert_error


def _pem(key: Any) -> str:
    return release.public_pem(key)


def _statement(key: Any, folder: str, name: str, version_number: int, data: bytes = b"plain") -> str:
    return release.bundle(
        key, release.payload(folder, name, version_number, data, "2026-12-02T12:00:00Z")
    ).decode()


def _register(api: Any, name: str, key: Any, folders: list[str]) -> Any:
    return api.client.post(
        "/publishers", json={"name": name, "public_key": _pem(key), "folders": folders}, headers=api.admin
    )


@pytest.mark.parametrize(
    "make_key,algorithm",
    [
        (lambda: ec.generate_private_key(ec.SECP256R1()), "ecdsa-p256"),
        (ed25519.Ed25519PrivateKey.generate, "ed25519"),
    ],
)
def test_register_list_and_export(api, make_key, algorithm) -> None:
    key = make_key()
    response = _register(api, "vision team", key, ["models", "models"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["algorithm"] == algorithm and body["folders"] == ["models"] and body["revoked"] is False
    assert body["key_id"] == hashlib.sha256(_pem(key).encode()).hexdigest()
    assert [p["name"] for p in api.client.get("/publishers", headers=api.admin).json()] == ["vision team"]
    api.client.put("/publishers/folders/models", json={"signatures_required": True}, headers=api.admin)
    trust = api.client.get("/publishers/trust", headers=api.admin).json()
    assert trust["signed_folders"] == ["models"] and trust["publishers"][0]["key_id"] == body["key_id"]
    assert api.client.post(f"/publishers/{body['key_id']}/revoke", headers=api.admin).json()["revoked"]
    assert api.client.get("/publishers/trust", headers=api.admin).json()["publishers"] == []


def test_bad_keys_duplicates_and_other_roles(api) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert _register(api, "a", key, ["models"]).status_code == 201
    assert_error(_register(api, "a", ec.generate_private_key(ec.SECP256R1()), []), 409, "CONFLICT")
    assert_error(_register(api, "b", key, []), 409, "CONFLICT")
    assert_error(_register(api, "c", ec.generate_private_key(ec.SECP384R1()), []), 400, "BAD_REQUEST")
    assert_error(_register(api, "d", rsa.generate_private_key(65537, 2048), []), 400, "BAD_REQUEST")
    bad = api.client.post(
        "/publishers", json={"name": "e", "public_key": "junk", "folders": []}, headers=api.admin
    )
    assert_error(bad, 400, "BAD_REQUEST")
    assert_error(_register(api, "f", ed25519.Ed25519PrivateKey.generate(), ["../x"]), 400, "INVALID_NAME")
    admin = api.user("Admin")
    denied = api.client.post(
        "/publishers", json={"name": "g", "public_key": _pem(key), "folders": []}, headers=admin.headers
    )
    assert_error(denied, 403, "FORBIDDEN")
    assert_error(api.client.get("/publishers/trust", headers=admin.headers), 403, "FORBIDDEN")
    assert_error(api.client.post("/publishers/" + "0" * 64 + "/revoke", headers=api.admin), 404, "NOT_FOUND")


def test_uploads_are_checked_and_numbered(api) -> None:
    key, other = ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()
    key_id = _register(api, "team", key, ["models"]).json()["key_id"]
    _register(api, "elsewhere", other, ["other"])
    assert api.upload("models", "m.bin", b"v1").json()["resource"]["version_number"] == 1  # unsigned, allowed
    api.client.put("/publishers/folders/models", json={"signatures_required": True}, headers=api.admin)
    assert_error(api.upload("models", "m.bin", b"v2"), 400, "SIGNATURE_REQUIRED")
    assert_error(
        api.upload("models", "m.bin", b"v2", statement=_statement(other, "models", "m.bin", 2)),
        403,
        "PUBLISHER_NOT_ALLOWED",
    )
    assert_error(
        api.upload("models", "m.bin", b"v2", statement=_statement(key, "models", "n.bin", 2)),
        400,
        "SIGNATURE_INVALID",
    )
    assert_error(
        api.upload("models", "m.bin", b"v2", statement=_statement(key, "models", "m.bin", 1)),
        409,
        "VERSION_CONFLICT",
    )
    assert_error(api.upload("models", "m.bin", b"v2", statement="{}"), 400, "SIGNATURE_INVALID")
    assert_error(api.upload("models", "m.bin", b"v2", statement="x" * 20000), 400, "BAD_REQUEST")
    signed = api.upload("models", "m.bin", b"v2", statement=_statement(key, "models", "m.bin", 2))
    assert signed.status_code == 201, signed.text
    assert (signed.json()["resource"]["version_number"], signed.json()["resource"]["signed"]) == (2, True)
    # Served with the small part, in a header; the body stays the envelope.
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    answer = api.get(operator, "models", "m.bin", HW1)
    assert answer.status_code == 200
    assert answer.headers["Azaion-Version-Number"] == "2"
    served = json.loads(base64.b64decode(answer.headers["Azaion-Release-Statement"]))
    assert served["verificationMaterial"]["publicKey"]["hint"] == key_id
    # A revoked key signs nothing more.
    api.client.post(f"/publishers/{key_id}/revoke", headers=api.admin)
    assert_error(
        api.upload("models", "m.bin", b"v3", statement=_statement(key, "models", "m.bin", 3)),
        403,
        "PUBLISHER_NOT_ALLOWED",
    )
