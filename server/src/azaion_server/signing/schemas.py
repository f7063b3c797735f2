"""The bodies of `GET /.well-known/jwks.json`, `GET /.well-known/jwks.jws` and `/signing-keys`."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class Jwk(BaseModel):
    """A public Ed25519 key as a JWK (RFC 8037, section 2)."""

    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class Jwks(BaseModel):
    """A JWK Set (RFC 7517, section 5)."""

    keys: list[Jwk]


class JwsSignature(BaseModel):
    """One signature of a JWS in the General JSON Serialization (RFC 7515, section 7.2.1)."""

    protected: str
    signature: str


class SignedJwks(BaseModel):
    """The JWK Set with its `iat`, as the payload of a JWS signed by every published key."""

    payload: str
    signatures: list[JwsSignature]


class SigningKeyOut(BaseModel):
    """A signing key as an ApiAdmin sees it (never its private half)."""

    kid: str
    current: bool
    created_at: dt.datetime
    retired_at: dt.datetime | None
    expires_at: dt.datetime | None
    jwk: Jwk
