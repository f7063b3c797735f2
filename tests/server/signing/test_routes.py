"""`/.well-known/jwks.json`, `/.well-known/jwks.jws`, `GET /signing-keys`, `POST /signing-keys/rotate`."""

from __future__ import annotations

import base64
import json

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.server.helpers import assert_error, bearer


def _d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public(jwk: dict) -> Ed25519PublicKey:
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    return Ed25519PublicKey.from_public_bytes(_d(jwk["x"]))


def test_the_jwks_verifies_the_servers_tokens(api) -> None:
    response = api.client.get("/.well-known/jwks.json")  # no token needed
    assert response.status_code == 200
    keys = {k["kid"]: _public(k) for k in response.json()["keys"]}
    assert len(keys) == 1
    kid = pyjwt.get_unverified_header(api.admin_token)["kid"]
    claims = pyjwt.decode(api.admin_token, keys[kid], algorithms=["EdDSA"], audience="azaion")
    assert claims["role"] == "ApiAdmin"


def test_rotation_route_keeps_old_tokens_valid(api) -> None:
    person = api.user("Operator")
    old_kid = pyjwt.get_unverified_header(person.token)["kid"]
    assert_error(api.client.post("/signing-keys/rotate", headers=person.headers), 403, "FORBIDDEN")
    assert_error(api.client.post("/signing-keys/rotate"), 401, "UNAUTHORIZED")
    rotated = api.client.post("/signing-keys/rotate", headers=api.admin)
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["current"] is True and new["kid"] != old_kid and new["jwk"]["kid"] == new["kid"]
    # The token of before still works, and a fresh login is signed by the new key.
    assert api.client.get("/license/info", headers=person.headers).status_code == 200
    fresh = api.login(person.email, person.password)
    assert pyjwt.get_unverified_header(fresh)["kid"] == new["kid"]
    assert api.client.get("/license/info", headers=bearer(fresh)).status_code == 200
    published = [k["kid"] for k in api.client.get("/.well-known/jwks.json").json()["keys"]]
    assert published == [new["kid"], old_kid]
    listed = api.client.get("/signing-keys", headers=api.admin).json()
    assert [(k["kid"], k["current"]) for k in listed] == [(new["kid"], True), (old_kid, False)]
    assert listed[1]["retired_at"] is not None and listed[1]["expires_at"] > listed[1]["retired_at"]
    assert listed[0]["expires_at"] is None
    assert "sealed" not in json.dumps(listed) and "private" not in json.dumps(listed)
    assert_error(api.client.get("/signing-keys", headers=person.headers), 403, "FORBIDDEN")


def test_another_instance_sees_a_rotation(api, make_client) -> None:
    other = make_client()
    api.client.post("/signing-keys/rotate", headers=api.admin)
    fresh = api.login("admin@example.com", "admin-password")
    # The other instance has never seen the new kid: it reloads instead of refusing.
    assert other.get("/users", headers=bearer(fresh)).status_code == 200


def test_the_signed_jwks_is_signed_by_every_published_key(api) -> None:
    api.client.post("/signing-keys/rotate", headers=api.admin)
    signed = api.client.get("/.well-known/jwks.jws").json()
    payload = json.loads(_d(signed["payload"]))
    plain = api.client.get("/.well-known/jwks.json").json()
    assert payload["keys"] == plain["keys"] and isinstance(payload["iat"], int)
    keys = {k["kid"]: _public(k) for k in payload["keys"]}
    signers = []
    for entry in signed["signatures"]:
        header = json.loads(_d(entry["protected"]))
        assert header["alg"] == "EdDSA" and header["typ"] == "jwk-set+json"
        keys[header["kid"]].verify(
            _d(entry["signature"]), f"{entry['protected']}.{signed['payload']}".encode()
        )
        signers.append(header["kid"])
    assert sorted(signers) == sorted(keys) and len(signers) == 2


def test_rotation_is_audited(api) -> None:
    rotated = api.client.post("/signing-keys/rotate", headers=api.admin).json()
    rows = api.client.get("/audit", params={"action": "signing_key.rotated"}, headers=api.admin).json()
    assert [r["detail"] for r in rows["results"]] == [rotated["kid"]]
    assert rows["results"][0]["actor_name"] == "admin@example.com"
