"""Leases as the jwt package signs them: the published vector (tests/vectors/lease.json,
docs/formats.md, section 8), checked by the independent reference; the window's bounds; and
every kind of tampering a device must refuse."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from azaion_server.jwt.leases import (
    LEASE_TYPE,
    LeaseIssuer,
    LeaseSubject,
    lease_claims,
    lease_expiry,
    sign_lease,
)
from azaion_server.jwt.settings import JwtSettings
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.reference import lease as reference
from tests.reference import make_vectors

VECTORS_DIR = Path(__file__).resolve().parents[2] / "vectors"
VECTOR = json.loads((VECTORS_DIR / "lease.json").read_text())
DEVICE = json.loads((VECTORS_DIR / "device.json").read_text())
UTC = dt.timezone.utc


def _d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _subject() -> LeaseSubject:
    claims = VECTOR["claims"]
    return LeaseSubject(
        sub=claims["sub"],
        device_id=claims["device"],
        jkt=claims["cnf"]["jkt"],
        folder=claims["folder"],
        name=claims["name"],
        version=claims["version"],
        plaintext=bytes.fromhex(VECTOR["inputs"]["plaintext"]),
        sealed=bytes.fromhex(VECTOR["inputs"]["sealed"]),
    )


def test_the_vector_file_is_what_the_reference_makes() -> None:
    assert make_vectors.render()["lease.json"] == json.dumps(VECTOR, indent=1) + "\n"


def test_the_vector_binds_device_jsons_sealed_small_part() -> None:
    sealed = DEVICE["sealed_small_part"]
    assert VECTOR["inputs"]["sealed"] == sealed["answer"]
    assert VECTOR["claims"]["sha256"] == hashlib.sha256(bytes.fromhex(sealed["plaintext"])).hexdigest()
    assert VECTOR["claims"]["cnf"]["jkt"] == DEVICE["dpop_proof"]["jkt"]


def test_the_server_signs_the_vector_byte_for_byte() -> None:
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTOR["seed_hex"]))
    kid = VECTOR["protected_header"]["kid"]
    inputs, claims = VECTOR["inputs"], VECTOR["claims"]
    exp = lease_expiry(
        dt.datetime.fromtimestamp(claims["iat"], UTC),
        offline_hours=inputs["offline_hours"],
        licence_expires_at=dt.datetime.fromisoformat(inputs["licence_expires_at"].replace("Z", "+00:00")),
        max_hours=inputs["lease_max_hours"],
    )
    assert int(exp.timestamp()) == claims["exp"]
    built = lease_claims(_subject(), issuer="azaion", now=claims["iat"], exp=claims["exp"], jti=claims["jti"])
    assert built == claims
    token = sign_lease(built, kid, private)
    assert token == VECTOR["lease"]  # Ed25519 is deterministic
    header, payload, _signature = token.split(".")
    assert f"{header}.{payload}" == VECTOR["signing_input"]
    assert (
        json.loads(_d(header))
        == VECTOR["protected_header"]
        == {"alg": "EdDSA", "kid": kid, "typ": LEASE_TYPE}
    )
    assert reference.verify(token, VECTOR["jwks"], bytes.fromhex(inputs["sealed"])) == claims


def test_pyjwt_reads_the_vector_as_an_eddsa_jws() -> None:
    import jwt as pyjwt

    public = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTOR["seed_hex"])).public_key()
    claims = pyjwt.decode(VECTOR["lease"], public, algorithms=["EdDSA"], options={"verify_exp": False})
    assert claims == VECTOR["claims"]


def _edited(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(_d(payload))
    claims.update(changes)
    return f"{header}.{_e(json.dumps(claims, separators=(',', ':'), sort_keys=True).encode())}.{signature}"


@pytest.mark.parametrize(
    "field, value",
    [
        ("exp", VECTOR["claims"]["exp"] + 3600),
        ("device", 8),
        ("cnf", {"jkt": "A" * 43}),
        ("version", "0" * 32),
        ("name", "other.onnx"),
        ("folder", "maps"),
        ("sha256", "0" * 64),
        ("sealed_sha256", "0" * 64),
        ("sub", "13"),
        ("nbf", 0),
    ],
)
def test_an_edited_claim_breaks_the_signature(field: str, value: object) -> None:
    with pytest.raises(reference.BadLease, match="signature"):
        reference.verify(_edited(VECTOR["lease"], **{field: value}), VECTOR["jwks"])


def test_another_key_another_kid_another_body_or_typ_are_refused() -> None:
    claims = VECTOR["claims"]
    kid = VECTOR["protected_header"]["kid"]
    forged = sign_lease(claims, kid, Ed25519PrivateKey.generate())  # the real kid, not the real key
    with pytest.raises(reference.BadLease, match="signature"):
        reference.verify(forged, VECTOR["jwks"])
    unknown = sign_lease(claims, "another-kid", Ed25519PrivateKey.generate())
    with pytest.raises(reference.BadLease, match="key"):
        reference.verify(unknown, VECTOR["jwks"])
    with pytest.raises(reference.BadLease, match="body"):
        reference.verify(VECTOR["lease"], VECTOR["jwks"], bytes.fromhex(VECTOR["inputs"]["sealed"]) + b"\0")
    # A DPoP proof or an access token signed by the same key is not a lease.
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTOR["seed_hex"]))
    header = _e(json.dumps({"alg": "EdDSA", "kid": kid, "typ": "JWT"}, separators=(",", ":")).encode())
    payload = VECTOR["lease"].split(".")[1]
    token = f"{header}.{payload}.{_e(private.sign(f'{header}.{payload}'.encode()))}"
    with pytest.raises(reference.BadLease, match="header"):
        reference.verify(token, VECTOR["jwks"])


def test_the_window_is_the_earliest_of_its_three_bounds() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    far = dt.datetime(2999, 1, 1, tzinfo=UTC)
    assert lease_expiry(now, offline_hours=5, licence_expires_at=far, max_hours=720) == now + dt.timedelta(
        hours=5
    )
    soon = now + dt.timedelta(minutes=30)
    assert lease_expiry(now, offline_hours=5, licence_expires_at=soon, max_hours=720) == soon
    assert lease_expiry(now, offline_hours=9000, licence_expires_at=far, max_hours=24) == now + dt.timedelta(
        hours=24
    )


class _Keys:
    """A KeyRing's signer, fixed: the issuer's logic alone is under test here."""

    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()

    def signer(self) -> tuple[str, Ed25519PrivateKey]:
        return "kid-1", self.private


def _issuer(**settings: object) -> tuple[LeaseIssuer, _Keys]:
    keys = _Keys()
    values = {"jwt_secret": "s" * 40, **settings}
    return LeaseIssuer(JwtSettings(**values), keys), keys  # type: ignore[arg-type]


def test_no_lease_without_offline_hours_or_past_the_licence() -> None:
    issuer, _keys = _issuer()
    now = dt.datetime.now(UTC)
    far = now + dt.timedelta(days=365)
    assert issuer.issue(_subject(), offline_hours=0, licence_expires_at=far) is None
    # Within AZAION_LICENSE_GRACE_SECONDS a licence still reads, but its window is empty.
    assert (
        issuer.issue(_subject(), offline_hours=24, licence_expires_at=now - dt.timedelta(seconds=1)) is None
    )
    lease = issuer.issue(_subject(), offline_hours=24, licence_expires_at=far, now=now)
    assert lease is not None and lease.exp == int((now + dt.timedelta(hours=24)).timestamp())
    assert lease.token not in repr(lease)


def test_the_issuer_signs_with_the_current_key_its_issuer_and_a_fresh_jti() -> None:
    issuer, keys = _issuer(jwt_issuer="azaion-test", lease_max_hours=2)
    jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "kid-1", "x": _e(_raw(keys.private))}]}
    subject = _subject()
    first = issuer.issue(subject, offline_hours=100, licence_expires_at=dt.datetime(2999, 1, 1, tzinfo=UTC))
    second = issuer.issue(subject, offline_hours=100, licence_expires_at=dt.datetime(2999, 1, 1, tzinfo=UTC))
    assert first is not None and second is not None and first.jti != second.jti
    claims = reference.verify(first.token, jwks, subject.sealed)
    assert claims["iss"] == "azaion-test" and claims["jti"] == first.jti and claims["exp"] == first.exp
    assert claims["exp"] - claims["iat"] == 2 * 3600 and claims["nbf"] == claims["iat"]


def _raw(private: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
