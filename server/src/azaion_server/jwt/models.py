"""Issuing, checking and revoking tokens: every check of a JWT happens here and nowhere else."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import jwt as pyjwt
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from azaion_server.db import utcnow
from azaion_server.jwt.dpop import ProofRequest, check_proof
from azaion_server.jwt.entities import RevokedToken
from azaion_server.jwt.exceptions import InvalidProof, InvalidToken
from azaion_server.jwt.keys import ALGORITHM, ROTATION_GRACE, KeyRing
from azaion_server.jwt.schemas import TokenClaims
from azaion_server.jwt.settings import JwtSettings
from azaion_server.prefetched import MISSING, read_ahead, recall

REQUIRED_CLAIMS = ("nameid", "unique_name", "role", "exp", "iat", "iss", "aud", "jti")


class TokenService:
    """Signs tokens with the current signing key (EdDSA, RFC 8037, `kid` in the header) and
    checks signature, `kid`, expiry, audience, issuer and lifetime.

    The lifetime `exp - iat` is at most what this server grants (AZAION_JWT_TTL_SECONDS for
    users, `client_ttl_seconds`, AZAION_CLIENT_SESSION_MAX_SECONDS, for machine clients): a
    token signed with a real key but a 30-year `exp` (an insider, a leaked key) is refused like
    a forged one. A token signed by a retired key is accepted only when it was issued before the
    key was retired (`jwt/keys.py`): a leaked old key mints nothing new.
    """

    def __init__(
        self,
        settings: JwtSettings,
        client_ttl_seconds: int | None = None,
        *,
        keys: KeyRing | None = None,
        sessions: sessionmaker[Any] | None = None,
    ) -> None:
        assert settings.jwt_secret is not None  # the settings validator guarantees it
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self.ttl = dt.timedelta(seconds=settings.jwt_ttl_seconds)
        self.dpop_skew_seconds = settings.dpop_skew_seconds
        self._max_lifetime = {
            "user": settings.jwt_ttl_seconds,
            "client": settings.jwt_ttl_seconds if client_ttl_seconds is None else client_ttl_seconds,
        }
        if keys is None:
            assert sessions is not None, "a TokenService needs its keys or the sessions to load them"
            # Old keys stay published until what they signed has expired: tokens and leases.
            longest = max(*self._max_lifetime.values(), settings.lease_max_hours * 3600)
            retention = dt.timedelta(seconds=longest) + ROTATION_GRACE
            keys = KeyRing(sessions, settings.jwt_secret.get_secret_value(), retention)
        self.keys = keys

    def __repr__(self) -> str:
        return f"TokenService(issuer={self._issuer!r}, audience={self._audience!r})"

    def issue(
        self,
        *,
        user_id: int,
        email: str,
        role: str,
        now: dt.datetime | None = None,
        jkt: str | None = None,
    ) -> str:
        """A signed token for one user, valid for AZAION_JWT_TTL_SECONDS (bound to `jkt`, if given)."""
        return self.sign(nameid=str(user_id), name=email, role=role, ttl=self.ttl, now=now, jkt=jkt)

    def sign(
        self,
        *,
        nameid: str,
        name: str,
        role: str,
        ttl: dt.timedelta,
        now: dt.datetime | None = None,
        jkt: str | None = None,
    ) -> str:
        """A signed token for any caller (`nameid` `12` or `client:3`), valid for `ttl`.

        With `jkt` (the RFC 7638 thumbprint of a device's signing key) the token is bound to
        that key (`cnf.jkt`, RFC 9449): every request with it needs a proof signed by the key.
        """
        now = now or utcnow()
        claims = {
            "nameid": nameid,
            "unique_name": name,
            "role": role,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "iss": self._issuer,
            "aud": self._audience,
            "jti": uuid.uuid4().hex,
        }
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        kid, private = self.keys.signer()
        return pyjwt.encode(claims, private, algorithm=ALGORITHM, headers={"kid": kid})

    def decode(self, token: str) -> TokenClaims:
        """The verified claims of `token`, or InvalidToken; never says what was wrong."""
        try:
            header = pyjwt.get_unverified_header(token)
            kid = header.get("kid")
            if header.get("alg") != ALGORITHM or not isinstance(kid, str):
                raise ValueError("not an EdDSA token with a kid")
            key = self.keys.verifier(kid)
            if key is None:
                raise ValueError("signed by a key this server does not publish")
            payload = pyjwt.decode(
                token,
                key.public,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": list(REQUIRED_CLAIMS)},
            )
            claims = TokenClaims.model_validate(payload)
            claims.subject_id  # noqa: B018 - a nameid without a valid id is a malformed token
            if not 0 < claims.exp - claims.iat <= self._max_lifetime[claims.kind]:
                raise ValueError("lifetime longer than this server grants")
            if not key.signed_before_retirement(claims.iat):
                raise ValueError("issued by a key after it was retired")
        except (pyjwt.PyJWTError, ValidationError, ValueError) as e:
            raise InvalidToken() from e
        return claims


def check_token(
    session: Session, tokens: TokenService, token: str | None, request: ProofRequest | None
) -> TokenClaims:
    """The token check of every route and of the event stream: present, valid, not revoked, and
    for a token bound to a device key (`cnf.jkt`), a fresh DPoP proof of `request` signed by it.

    InvalidToken, or InvalidProof for the proof, otherwise, without saying what was wrong.
    `request` is None only where the proof was checked already (an open event stream's
    heartbeats re-check its token).
    """
    if token is None:
        raise InvalidToken()
    claims = tokens.decode(token)
    if claims.jkt is not None and request is not None:
        jkt = check_proof(session, request, token=token, skew_seconds=tokens.dpop_skew_seconds)
        if jkt != claims.jkt:
            raise InvalidProof()
    read_ahead(session, claims)  # one query for what this check and the caller's checks read
    if is_revoked(session, claims.jti):
        raise InvalidToken()
    return claims


def is_revoked(session: Session, jti: str) -> bool:
    """True once `POST /logout` revoked the token with this `jti`."""
    known = recall(session, "revoked", jti)  # read ahead by caller_state.prefetch
    if known is not MISSING:
        return bool(known)
    return session.get(RevokedToken, jti) is not None


def revoke(session: Session, claims: TokenClaims) -> None:
    """Revoke a token until its expiry; also drops revocations whose tokens expired anyway."""
    now = utcnow()
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
    if session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == claims.jti)) is None:
        expires = dt.datetime.fromtimestamp(claims.exp, dt.timezone.utc)
        session.add(RevokedToken(jti=claims.jti, expires_at=expires))
    session.commit()
