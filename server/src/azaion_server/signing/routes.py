"""The published keys (anyone) and their administration (ApiAdmin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from azaion_server.audit import models as audit
from azaion_server.auth.deps import ApiAdmin
from azaion_server.deps import ClientAddress, SessionDep, provide
from azaion_server.jwt.keys import KeyRing, PublishedKey
from azaion_server.signing.schemas import Jwk, Jwks, SignedJwks, SigningKeyOut

router = APIRouter(tags=["signing keys"])
Keys = Annotated[KeyRing, Depends(provide(KeyRing))]


def _out(key: PublishedKey) -> SigningKeyOut:
    return SigningKeyOut(
        kid=key.kid,
        current=key.current,
        created_at=key.created_at,
        retired_at=key.retired_at,
        expires_at=key.expires_at,
        jwk=Jwk(**key.jwk()),
    )


@router.get("/.well-known/jwks.json", response_model=Jwks)
def jwks(keys: Keys) -> Jwks:
    """The public keys that verify this server's tokens: the current one and those retired
    whose tokens may not have expired yet."""
    return Jwks.model_validate(keys.jwks())


@router.get("/.well-known/jwks.jws", response_model=SignedJwks)
def signed_jwks(keys: Keys) -> SignedJwks:
    """The same keys with an issue time, signed by each of them: a client
    adopts a new set only when a key it already trusts signed it."""
    return SignedJwks.model_validate(keys.signed_jwks())


@router.get("/signing-keys", response_model=list[SigningKeyOut])
def list_keys(_admin: ApiAdmin, keys: Keys, session: SessionDep) -> list[SigningKeyOut]:
    """Every published signing key, newest first."""
    return [_out(key) for key in keys.all_keys(session)]


@router.post("/signing-keys/rotate", response_model=SigningKeyOut, status_code=201)
def rotate(admin: ApiAdmin, address: ClientAddress, keys: Keys, session: SessionDep) -> SigningKeyOut:
    """Make a fresh key current; the previous one stays published until its tokens expire."""
    key = keys.rotate(session)
    audit.record(session, audit.KEY_ROTATED, admin, address=address, detail=key.kid)
    session.commit()
    return _out(key)
