"""`ClaimsDep`: the verified, unrevoked claims of the caller's bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from azaion_server.deps import SessionDep, provide
from azaion_server.jwt.dpop import ProofRequest, check_proof
from azaion_server.jwt.leases import LeaseIssuer
from azaion_server.jwt.models import TokenService, check_token
from azaion_server.jwt.schemas import TokenClaims

# auto_error=False: a missing header must answer our JSON 401, not FastAPI's own 403.
_bearer = HTTPBearer(auto_error=False, description="The token of `POST /login`")


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_token(request: Request, credentials: BearerCredentials) -> str | None:
    """The access token of `Authorization: DPoP <token>` (RFC 9449) or `Authorization: Bearer <token>`."""
    if credentials is not None:
        return credentials.credentials
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "dpop" else None


AccessToken = Annotated[str | None, Depends(get_token)]
Tokens = Annotated[TokenService, Depends(provide(TokenService))]
# Signs the offline leases of `POST /resources/get/{folder}` (`jwt/leases.py`).
Leases = Annotated[LeaseIssuer, Depends(provide(LeaseIssuer))]


def proof_request(request: Request) -> ProofRequest:
    """The method, URL (without query or fragment, RFC 9449 section 4.3) and `DPoP` header of a request."""
    url = request.url.replace(query="", fragment="")
    # The path as it came on the wire: Starlette's is percent-decoded, so a name the client
    # quoted (`!` as `%21`) would never equal the proof's `htu`.
    raw_path = request.scope.get("raw_path")
    if raw_path:
        url = url.replace(path=raw_path.decode("latin-1"))
    return ProofRequest(method=request.method, url=str(url), proof=request.headers.get("DPoP"))


def get_claims(request: Request, tokens: Tokens, session: SessionDep, token: AccessToken) -> TokenClaims:
    """Check the access token (signature, expiry, audience, issuer, claims, revocation, DPoP)."""
    return check_token(session, tokens, token, proof_request(request))


ClaimsDep = Annotated[TokenClaims, Depends(get_claims)]


def get_login_key(request: Request, tokens: Tokens, session: SessionDep) -> str | None:
    """At login: the thumbprint of the key whose DPoP proof (no `ath`) came with the request, to
    bind the new token to; None without a `DPoP` header; InvalidProof for a bad one."""
    proof = proof_request(request)
    if proof.proof is None:
        return None
    return check_proof(session, proof, token=None, skew_seconds=tokens.dpop_skew_seconds)


LoginKey = Annotated[str | None, Depends(get_login_key)]
