"""DPoP proofs (RFC 9449) and JWK thumbprints (RFC 7638): what binds a token to a device's key.

A proof is a JWS (ES256, `typ` `dpop+jwt`) whose header carries the device's public signing
key and whose claims name the request (`htm`, `htu`), when it was made (`iat`), a one-time id
(`jti`) and, with a token, the token's hash (`ath`). Every failure is one `InvalidProof`: the
caller learns that its proof was refused, never which check refused it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from azaion_server.db import utcnow
from azaion_server.jwt.entities import UsedProof
from azaion_server.jwt.exceptions import InvalidProof
from azaion_server.jwt.jwk import b64url, b64url_decode, jwk_thumbprint

__all__ = ["InvalidProof", "ProofRequest", "check_proof", "thumbprint", "verify_proof"]

PROOF_TYPE = "dpop+jwt"
ALGORITHM = "ES256"
MAX_PROOF_LENGTH = 4096
MAX_JTI_LENGTH = 64


@dataclass(frozen=True)
class ProofRequest:
    """What a proof must name: the request's method and URL (no query), and the `DPoP` header."""

    method: str
    url: str
    proof: str | None


def check_p256_jwk(jwk: Any) -> dict[str, str]:
    """A public EC P-256 JWK (`kty`, `crv`, `x`, `y` of 32 bytes each, no `d`); ValueError otherwise."""
    if not isinstance(jwk, dict) or "d" in jwk:
        raise ValueError("not a public JWK")
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("not a P-256 key")
    x, y = (b64url_decode(jwk.get(member, "")) for member in ("x", "y"))
    if len(x) != 32 or len(y) != 32:
        raise ValueError("bad coordinate")
    # On the curve, here where every key enters: a sealing key off it would fail every later
    # download that seals to it.
    ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    ).public_key()
    return {"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 thumbprint of an EC public JWK (its required members: crv, kty, x, y)."""
    return jwk_thumbprint({member: jwk[member] for member in ("crv", "kty", "x", "y")})


def token_hash(token: str) -> str:
    """`ath`: base64url SHA-256 of the access token's ASCII bytes."""
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


def verify_proof(
    request: ProofRequest, *, token: str | None, skew_seconds: int, now: float | None = None
) -> tuple[str, str, int]:
    """(thumbprint, jti, iat) of a valid proof for `request`; InvalidProof for anything else.

    Does not remember the `jti`: `check_proof` does, in the database.
    """
    proof = request.proof
    if not proof or len(proof) > MAX_PROOF_LENGTH:
        raise InvalidProof()
    now = time.time() if now is None else now
    try:
        header = pyjwt.get_unverified_header(proof)
        if header.get("typ") != PROOF_TYPE or header.get("alg") != ALGORITHM:
            raise ValueError("wrong type or algorithm")
        jwk = check_p256_jwk(header.get("jwk"))
        key = pyjwt.PyJWK(jwk, algorithm=ALGORITHM)
        claims = pyjwt.decode(
            proof,
            key=key,
            algorithms=[ALGORITHM],
            options={"require": ["htm", "htu", "iat", "jti"], "verify_aud": False, "verify_iat": False},
        )
        iat = claims["iat"]
        jti = claims["jti"]
        if not isinstance(iat, int) or isinstance(iat, bool) or abs(now - iat) > skew_seconds:
            raise ValueError("outside the allowed clock skew")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise ValueError("bad jti")
        if claims["htm"] != request.method or claims["htu"] != request.url:
            raise ValueError("for another request")
        if token is not None and claims.get("ath") != token_hash(token):
            raise ValueError("for another token")
    except (pyjwt.PyJWTError, ValueError, TypeError, KeyError) as e:
        raise InvalidProof() from e
    return thumbprint(jwk), jti, iat


# Expired proofs are swept at most once a minute per process, not by every request: a row past
# its time does no harm (its proof fails the skew check anyway), a DELETE per request does.
SWEEP_INTERVAL_SECONDS = 60.0
_sweep_lock = threading.Lock()
_next_sweep = 0.0


def _sweep_due() -> bool:
    global _next_sweep
    now = time.monotonic()
    with _sweep_lock:
        if now < _next_sweep:
            return False
        _next_sweep = now + SWEEP_INTERVAL_SECONDS
        return True


def remember_jti(session: Session, jkt: str, jti: str, iat: int, skew_seconds: int) -> None:
    """Record a proof's `jti` (per key) until it could no longer pass the skew check; a second
    use is InvalidProof. Committed at once, so that concurrent requests with one proof see it."""
    if _sweep_due():
        session.execute(delete(UsedProof).where(UsedProof.expires_at < utcnow()))
    key = hashlib.sha256(f"{jkt}\0{jti}".encode()).hexdigest()
    expires = dt.datetime.fromtimestamp(iat + skew_seconds + 1, dt.timezone.utc)
    session.add(UsedProof(key=key, expires_at=expires))
    try:
        session.commit()
    except IntegrityError as e:
        session.rollback()
        raise InvalidProof() from e


def check_proof(session: Session, request: ProofRequest, *, token: str | None, skew_seconds: int) -> str:
    """The thumbprint of the key that signed a valid, unused proof for `request`; InvalidProof
    otherwise. `token` (for `ath`) is None only at login, before there is a token."""
    jkt, jti, iat = verify_proof(request, token=token, skew_seconds=skew_seconds)
    remember_jti(session, jkt, jti, iat, skew_seconds)
    return jkt
