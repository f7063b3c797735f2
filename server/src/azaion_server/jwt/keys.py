"""The server's signing keys: Ed25519 key pairs with a `kid`, sealed at rest, rotated, published.

Access tokens are JWS with `alg` EdDSA (RFC 8037), signed by the current key and checked
against every published one, so that a client (or another service) can verify them with the
public keys of `GET /.well-known/jwks.json` and nothing secret.

* The `kid` is the key's JWK thumbprint (RFC 7638, SHA-256): it names the key and nothing else
  can have it.
* The private half is stored sealed with AES-256-GCM under a key derived (HKDF-SHA256) from
  AZAION_JWT_SECRET, with the `kid` as associated data, as machine client keys are sealed under
  AZAION_CLIENT_KEY_SECRET (`clients/keys.py`): a dump of the database alone signs nothing. The
  public half is stored in the clear: checking needs no secret.
* Rotation makes a new key current and retires the previous one. A retired key still verifies
  what it signed before it was retired (its `iat` at most ROTATION_GRACE after `retired_at`,
  for instances that have not reloaded yet) and stays published for `retention` — the longest
  lifetime of anything it may have signed — and then is neither published nor accepted.
* Every instance keeps the keys in memory, reloads them every REFRESH_SECONDS, and at once
  (at most once a second) when a token names a `kid` it does not know: a rotation on one
  instance is seen by the others within seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from azaion_server.db import utcnow
from azaion_server.jwt.entities import SigningKey
from azaion_server.jwt.jwk import b64url, jwk_thumbprint
from azaion_server.sealed import SealedBox

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
CURVE = "Ed25519"
# The `typ` of the signed JWKS (`GET /.well-known/jwks.jws`): the media type of a JWK Set.
JWKS_TYPE = "jwk-set+json"
REFRESH_SECONDS = 10.0
# How long after its retirement a key's signatures are still taken as made before it: the time
# another instance may go on signing with it before it reloads (REFRESH_SECONDS, with margin).
ROTATION_GRACE = dt.timedelta(seconds=60)
_UNKNOWN_KID_RELOAD_SECONDS = 1.0
_RAW_SIZE = 32


class SealedSigningKeyError(Exception):
    """A stored private key that does not open: AZAION_JWT_SECRET changed, or the row was edited."""


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 bytes of an Ed25519 public key (RFC 8032)."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def thumbprint(public: bytes) -> str:
    """The RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 public key: its `kid`."""
    # RFC 7638, section 3.2 and RFC 8037, appendix A.3: crv, kty, x.
    return jwk_thumbprint({"crv": CURVE, "kty": "OKP", "x": b64url(public)})


def public_jwk(public: bytes) -> dict[str, str]:
    """The public JWK (RFC 8037, section 2) of an Ed25519 key, with its `kid`, `alg` and `use`."""
    return {
        "kty": "OKP",
        "crv": CURVE,
        "x": b64url(public),
        "kid": thumbprint(public),
        "alg": ALGORITHM,
        "use": "sig",
    }


def jws_signing_input(protected: dict[str, Any], payload: bytes) -> tuple[str, str, bytes]:
    """The encoded protected header, the encoded payload and the JWS Signing Input (RFC 7515, 5.1)."""
    header = b64url(json.dumps(protected, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    body = b64url(payload)
    return header, body, f"{header}.{body}".encode("ascii")


def sign_jwks(
    keys: list[dict[str, str]], issued_at: int, signers: list[tuple[str, Ed25519PrivateKey]]
) -> dict[str, Any]:
    """`{"keys": keys, "iat": issued_at}` as a JWS in the General JSON Serialization, one
    signature per signer, protected header `{"alg": "EdDSA", "kid": ..., "typ": "jwk-set+json"}`
    (docs/formats.md has a vector)."""
    payload = json.dumps({"keys": keys, "iat": issued_at}, separators=(",", ":")).encode("utf-8")
    signatures = []
    for kid, private in signers:
        header, _body, signing_input = jws_signing_input(
            {"alg": ALGORITHM, "kid": kid, "typ": JWKS_TYPE}, payload
        )
        signatures.append({"protected": header, "signature": b64url(private.sign(signing_input))})
    return {"payload": b64url(payload), "signatures": signatures}


class KeySealer(SealedBox):
    """Seals and opens the private halves of signing keys under AZAION_JWT_SECRET (by kid)."""

    salt = b"azaion/signing-keys/v1"
    info = b"azaion signing key at rest: aes-256-gcm"
    label = b"azaion signing key"
    size = _RAW_SIZE
    error = SealedSigningKeyError


@dataclass(frozen=True)
class PublishedKey:
    """A signing key as the server publishes and checks it (never its private half)."""

    kid: str
    public: Ed25519PublicKey
    created_at: dt.datetime
    retired_at: dt.datetime | None
    # When it leaves the JWKS and stops verifying (None while current).
    expires_at: dt.datetime | None

    @property
    def current(self) -> bool:
        """Whether this key signs what the server issues now."""
        return self.retired_at is None

    def jwk(self) -> dict[str, str]:
        """Its public JWK."""
        return public_jwk(raw_public(self.public))

    def signed_before_retirement(self, issued_at: float) -> bool:
        """Whether something issued at `issued_at` (seconds) was signed while this key was current."""
        if self.retired_at is None:
            return True
        return issued_at <= (self.retired_at + ROTATION_GRACE).timestamp()


@dataclass(frozen=True)
class _Loaded:
    keys: dict[str, PublishedKey]
    signer: tuple[str, Ed25519PrivateKey] | None
    at: float


class NoSigningKey(Exception):
    """No current signing key opens under AZAION_JWT_SECRET."""


class KeyRing:
    """The signing keys of this server, loaded from the database and kept for REFRESH_SECONDS."""

    def __init__(self, sessions: sessionmaker[Any], secret: str, retention: dt.timedelta) -> None:
        self._sessions = sessions
        self._sealer = KeySealer(secret)
        self.retention = retention
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def __repr__(self) -> str:
        return f"KeyRing(retention={self.retention})"

    # -- reading ---------------------------------------------------------------------

    def _published(self, row: SigningKey, now: dt.datetime) -> PublishedKey | None:
        expires = row.retired_at + self.retention if row.retired_at is not None else None
        if expires is not None and expires <= now:
            return None
        return PublishedKey(
            kid=row.kid,
            public=Ed25519PublicKey.from_public_bytes(row.public_key),
            created_at=row.created_at,
            retired_at=row.retired_at,
            expires_at=expires,
        )

    def _rows(self, session: Session, now: dt.datetime) -> list[SigningKey]:
        oldest = now - self.retention
        return list(
            session.scalars(
                select(SigningKey)
                .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > oldest))
                .order_by(SigningKey.created_at.desc(), SigningKey.kid)
            )
        )

    def _load(self) -> _Loaded:
        now = utcnow()
        with self._sessions() as session:
            rows = self._rows(session, now)
        keys: dict[str, PublishedKey] = {}
        signer = None
        for row in rows:
            published = self._published(row, now)
            if published is None:
                continue
            keys[row.kid] = published
            if signer is None and row.retired_at is None:
                try:
                    private = Ed25519PrivateKey.from_private_bytes(
                        self._sealer.open(row.kid, row.sealed_private)
                    )
                except SealedSigningKeyError:
                    log.error("signing key %s does not open: AZAION_JWT_SECRET changed?", row.kid)
                    continue
                signer = (row.kid, private)
        loaded = _Loaded(keys=keys, signer=signer, at=time.monotonic())
        self._loaded = loaded
        return loaded

    def _fresh(self, max_age: float = REFRESH_SECONDS) -> _Loaded:
        loaded = self._loaded
        if loaded is not None and time.monotonic() - loaded.at < max_age:
            return loaded
        with self._lock:
            loaded = self._loaded
            if loaded is not None and time.monotonic() - loaded.at < max_age:
                return loaded
            return self._load()

    def forget(self) -> None:
        """Reload at the next use (after a rotation in this process)."""
        self._loaded = None

    def signer(self) -> tuple[str, Ed25519PrivateKey]:
        """The `kid` and private key that sign now; NoSigningKey when none opens."""
        signer = self._fresh().signer
        if signer is None:
            signer = self._fresh(0.0).signer
        if signer is None:
            raise NoSigningKey()
        return signer

    def verifier(self, kid: str) -> PublishedKey | None:
        """The published key with this `kid`, or None (reloading, at most once a second, first)."""
        key = self._fresh().keys.get(kid)
        if key is None:
            key = self._fresh(_UNKNOWN_KID_RELOAD_SECONDS).keys.get(kid)
        return key

    def published(self) -> list[PublishedKey]:
        """Every published key, the current one first."""
        now = utcnow()
        return [k for k in self._fresh().keys.values() if k.expires_at is None or k.expires_at > now]

    def jwks(self) -> dict[str, Any]:
        """The JWK Set of `GET /.well-known/jwks.json` (RFC 7517, section 5)."""
        return {"keys": [key.jwk() for key in self.published()]}

    def signed_jwks(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """The JWKS with its issue time, as a JWS in the General JSON Serialization (RFC 7515,
        section 7.2.1), signed by every published key whose private half opens here.

        A client that trusts any one of them can adopt the set (docs/protocol.md).
        """
        now = now or utcnow()
        published = self.published()
        signers = []
        with self._sessions() as session:
            for key in published:
                row = session.get(SigningKey, key.kid)
                try:
                    raw = self._sealer.open(row.kid, row.sealed_private) if row is not None else None
                except SealedSigningKeyError:
                    raw = None
                if raw is not None:
                    signers.append((key.kid, Ed25519PrivateKey.from_private_bytes(raw)))
        return sign_jwks([key.jwk() for key in published], int(now.timestamp()), signers)

    # -- changing --------------------------------------------------------------------

    def _new_row(self, now: dt.datetime) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        public = raw_public(private.public_key())
        kid = thumbprint(public)
        raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return SigningKey(
            kid=kid, public_key=public, sealed_private=self._sealer.seal(kid, raw), created_at=now
        )

    def rotate(self, session: Session) -> PublishedKey:
        """Make a fresh key current and retire the current one(s); committed."""
        now = utcnow()
        session.execute(update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now))
        row = self._new_row(now)
        session.add(row)
        session.commit()
        self.forget()
        log.info("signing key %s is now current", row.kid)
        published = self._published(row, now)
        assert published is not None
        return published

    def ensure(self, session: Session) -> None:
        """At start: create the first key when there is none; NoSigningKey when the current key
        does not open under this AZAION_JWT_SECRET (rotate with `azaion-server --rotate-signing-key`)."""
        current = session.scalars(
            select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc())
        ).first()
        if current is None:
            self.rotate(session)
            return
        try:
            self._sealer.open(current.kid, current.sealed_private)
        except SealedSigningKeyError as e:
            raise NoSigningKey() from e
        self.forget()

    def all_keys(self, session: Session) -> list[PublishedKey]:
        """Every key still published, newest first, for `GET /signing-keys`."""
        now = utcnow()
        return [k for row in self._rows(session, now) if (k := self._published(row, now)) is not None]
