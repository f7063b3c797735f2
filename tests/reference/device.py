"""A device as the tests play it: two P-256 key pairs, DPoP proofs (RFC 9449), RFC 7638
thumbprints and opening what the server seals (docs/formats.md, section 3).

Independent of the package: built from `cryptography` and PyJWT directly, so that the server's
checks and the client's device are each tested against something they do not share code with.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ec

SUITE = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_of(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public JWK of a P-256 key."""
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638, written out: the required members in lexicographic order, no whitespace."""
    members = [f'"{name}":"{jwk[name]}"' for name in ("crv", "kty", "x", "y")]
    text = "{" + ",".join(members) + "}"
    return b64url(hashlib.sha256(text.encode()).digest())


def proof_with(signing: ec.EllipticCurvePrivateKey, claims: dict[str, Any], token: str | None) -> str:
    """A DPoP proof with fixed claims, signed deterministically (RFC 6979), for vectors."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    claims = dict(claims)
    if token is not None:
        claims["ath"] = b64url(hashlib.sha256(token.encode()).digest())
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk_of(signing.public_key())}
    signing_input = f"{b64url(dumps(header).encode())}.{b64url(dumps(claims).encode())}"
    der = signing.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def sealed_info(folder: str, name: str, version: str, device_id: int) -> bytes:
    """The HPKE `info` of docs/formats.md, section 3."""

    def lp(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    return (
        b"azaion sealed v2"
        + lp(folder.encode())
        + lp(name.encode())
        + lp(version.encode())
        + lp(str(device_id).encode())
    )


class Device:
    """A software device: a signing key for proofs and a sealing key to open with."""

    def __init__(self) -> None:
        self.signing = ec.generate_private_key(ec.SECP256R1())
        self.sealing = ec.generate_private_key(ec.SECP256R1())
        self.id: int | None = None

    @property
    def signing_jwk(self) -> dict[str, str]:
        """The public signing key."""
        return jwk_of(self.signing.public_key())

    @property
    def sealing_jwk(self) -> dict[str, str]:
        """The public sealing key."""
        return jwk_of(self.sealing.public_key())

    @property
    def jkt(self) -> str:
        """The signing key's thumbprint."""
        return thumbprint(self.signing_jwk)

    def proof(
        self,
        method: str,
        url: str,
        token: str | None = None,
        *,
        iat: float | None = None,
        jti: str | None = None,
        **extra: Any,
    ) -> str:
        """A DPoP proof of `method url` (with `ath` of `token`)."""
        claims: dict[str, Any] = {
            "htm": method,
            "htu": url,
            "iat": int(time.time() if iat is None else iat),
            "jti": jti or uuid.uuid4().hex,
        }
        if token is not None:
            claims["ath"] = b64url(hashlib.sha256(token.encode()).digest())
        claims.update(extra)
        headers = {"typ": "dpop+jwt", "jwk": self.signing_jwk}
        return jwt.encode(claims, self.signing, algorithm="ES256", headers=headers)

    def headers(self, method: str, url: str, token: str) -> dict[str, str]:
        """Authorization and DPoP headers of one request."""
        return {"Authorization": f"DPoP {token}", "DPoP": self.proof(method, url, token)}

    def enrol_body(self, hardware: str | None = None) -> dict[str, Any]:
        """The body of `POST /devices`."""
        body: dict[str, Any] = {"signing_key": self.signing_jwk, "sealing_key": self.sealing_jwk}
        if hardware is not None:
            body["hardware"] = hardware
        return body

    def open(self, sealed: bytes, folder: str, name: str) -> bytes:
        """Open a sealed answer addressed to this device (its id set at enrolment)."""
        assert sealed[0] == 0x02, "not a sealed answer"
        length = sealed[1]
        version = sealed[2 : 2 + length].decode("ascii")
        assert self.id is not None
        info = sealed_info(folder, name, version, self.id)
        return SUITE.decrypt(sealed[2 + length :], self.sealing, info=info)


def dumps(value: Any) -> str:
    """Compact JSON."""
    return json.dumps(value, separators=(",", ":"))
