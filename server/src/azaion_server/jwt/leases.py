"""Offline leases: what the server signs beside a small part so that a device may load it again
without the API (docs/formats.md, section 8).

A lease is a compact JWS (RFC 7515) signed with the server's current Ed25519 key (EdDSA,
RFC 8037), protected header `{"alg": "EdDSA", "kid": ..., "typ": "azaion-lease+jwt"}`. Its
payload names the caller (`sub`), the device (`device`, `cnf.jkt`), the resource (`folder`,
`name`, `version`), the SHA-256 of the small part's plaintext (`sha256`) and of the exact
sealed answer it came with (`sealed_sha256`), and its window (`iat`, `nbf`, `exp`). The sealed
small part is bound by its digest, not carried inside: the device keeps the answer body and the
lease side by side, and only its sealing key opens the body.

`exp` is the earliest of `offline_hours` ahead, the licence's expiry and AZAION_LEASE_MAX_HOURS
ahead: a lease never outlives the licence, and no licence opens a longer offline window than the
server's operator allows. Signing keys stay published for at least AZAION_LEASE_MAX_HOURS after
their retirement (`jwt/models.py`), so a lease verifies with the JWKS until it expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from azaion_server.db import utcnow
from azaion_server.jwt.jwk import b64url
from azaion_server.jwt.keys import ALGORITHM, KeyRing, jws_signing_input
from azaion_server.jwt.settings import JwtSettings

# The response header that carries a lease (docs/protocol.md) and the JWS `typ` of one.
LEASE_HEADER = "Azaion-Lease"
LEASE_TYPE = "azaion-lease+jwt"


@dataclass(frozen=True)
class LeaseSubject:
    """What one lease is about: who, which device, which resource version, which bytes."""

    sub: str
    device_id: int
    jkt: str
    folder: str
    name: str
    version: str
    plaintext: bytes
    sealed: bytes


@dataclass(frozen=True)
class Lease:
    """A signed lease: the compact JWS, and its `jti` and `exp` for the audit trail."""

    token: str
    jti: str
    exp: int

    def __repr__(self) -> str:
        return f"Lease(jti={self.jti!r}, exp={self.exp!r})"


def lease_expiry(
    now: dt.datetime, *, offline_hours: int, licence_expires_at: dt.datetime, max_hours: int
) -> dt.datetime:
    """The `exp` of a lease issued at `now`: min(now + offline_hours, licence expiry, now + max_hours)."""
    return min(
        now + dt.timedelta(hours=offline_hours),
        licence_expires_at,
        now + dt.timedelta(hours=max_hours),
    )


def lease_claims(subject: LeaseSubject, *, issuer: str, now: int, exp: int, jti: str) -> dict[str, Any]:
    """The payload of a lease (docs/formats.md, section 8)."""
    return {
        "iss": issuer,
        "sub": subject.sub,
        "device": subject.device_id,
        "cnf": {"jkt": subject.jkt},
        "folder": subject.folder,
        "name": subject.name,
        "version": subject.version,
        "sha256": hashlib.sha256(subject.plaintext).hexdigest(),
        "sealed_sha256": hashlib.sha256(subject.sealed).hexdigest(),
        "iat": now,
        "nbf": now,
        "exp": exp,
        "jti": jti,
    }


def sign_lease(claims: dict[str, Any], kid: str, private: Ed25519PrivateKey) -> str:
    """`claims` as a compact JWS signed by `private` (the payload is compact JSON, keys sorted;
    a verifier checks the bytes it received and never serialises them again)."""
    payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8")
    header, body, signing_input = jws_signing_input(
        {"alg": ALGORITHM, "kid": kid, "typ": LEASE_TYPE}, payload
    )
    return f"{header}.{body}.{b64url(private.sign(signing_input))}"


class LeaseIssuer:
    """Signs leases with the server's current signing key, within AZAION_LEASE_MAX_HOURS."""

    def __init__(self, settings: JwtSettings, keys: KeyRing) -> None:
        self._issuer = settings.jwt_issuer
        self.max_hours = settings.lease_max_hours
        self._keys = keys

    def __repr__(self) -> str:
        return f"LeaseIssuer(issuer={self._issuer!r}, max_hours={self.max_hours})"

    def issue(
        self,
        subject: LeaseSubject,
        *,
        offline_hours: int,
        licence_expires_at: dt.datetime,
        now: dt.datetime | None = None,
    ) -> Lease | None:
        """A lease for `subject`, or None when the licence allows no offline use (`offline_hours`
        0) or its window is empty (a licence past its expiry, within AZAION_LICENSE_GRACE_SECONDS)."""
        if offline_hours <= 0:
            return None
        now = now or utcnow()
        issued = int(now.timestamp())
        expiry = lease_expiry(
            now, offline_hours=offline_hours, licence_expires_at=licence_expires_at, max_hours=self.max_hours
        )
        exp = int(expiry.timestamp())
        if exp <= issued:
            return None
        jti = uuid.uuid4().hex
        kid, private = self._keys.signer()
        claims = lease_claims(subject, issuer=self._issuer, now=issued, exp=exp, jti=jti)
        return Lease(token=sign_lease(claims, kid, private), jti=jti, exp=exp)
