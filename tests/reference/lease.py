"""Offline leases as a device checks them (docs/formats.md, section 8), written from the spec
with `cryptography` alone, so that the server's signing is tested against code it does not share.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

TYPE = "azaion-lease+jwt"
CLAIMS = (
    "iss",
    "sub",
    "device",
    "cnf",
    "folder",
    "name",
    "version",
    "sha256",
    "sealed_sha256",
    "iat",
    "nbf",
    "exp",
    "jti",
)


class BadLease(Exception):
    """A lease that is malformed, badly signed, signed by an unknown key, or not for this body."""


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Unpadded base64url, decoded strictly (no padding, no other alphabet)."""
    if "=" in text or not all(c.isalnum() or c in "-_" for c in text):
        raise BadLease("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def sign(claims: dict[str, Any], kid: str, private: Ed25519PrivateKey) -> str:
    """A lease with these claims: compact JWS, compact JSON with sorted keys (as the server writes)."""
    header = b64url(_compact({"alg": "EdDSA", "kid": kid, "typ": TYPE}))
    payload = b64url(_compact(claims))
    signature = private.sign(f"{header}.{payload}".encode())
    return f"{header}.{payload}.{b64url(signature)}"


def verify(lease: str, jwks: dict[str, Any], body: bytes | None = None) -> dict[str, Any]:
    """The claims of `lease` once its signature verifies with the JWKS key its `kid` names (and,
    given `body`, once `sealed_sha256` is the body's digest); BadLease otherwise. Times are the
    caller's to check."""
    parts = lease.split(".")
    if len(parts) != 3:
        raise BadLease("not a compact JWS")
    header = json.loads(unb64url(parts[0]))
    if header.get("alg") != "EdDSA" or header.get("typ") != TYPE or set(header) != {"alg", "kid", "typ"}:
        raise BadLease("not a lease header")
    keys = [k for k in jwks["keys"] if k.get("kid") == header["kid"]]
    if len(keys) != 1 or (keys[0]["kty"], keys[0]["crv"]) != ("OKP", "Ed25519"):
        raise BadLease("signed by a key the JWKS does not hold")
    public = Ed25519PublicKey.from_public_bytes(unb64url(keys[0]["x"]))
    try:
        public.verify(unb64url(parts[2]), f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature as e:
        raise BadLease("bad signature") from e
    claims = json.loads(unb64url(parts[1]))
    if set(claims) != set(CLAIMS):
        raise BadLease("claims missing or extra")
    if body is not None and claims["sealed_sha256"] != hashlib.sha256(body).hexdigest():
        raise BadLease("not the lease of this body")
    return dict(claims)
