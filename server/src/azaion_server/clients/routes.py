"""Machine clients: administration (ApiAdmin; every failure a bare 400) and the handshake."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter

from azaion_server.auth.deps import ApiAdmin
from azaion_server.auth.routes import OpaqueErrorsRoute
from azaion_server.auth.schemas import Success
from azaion_server.clients import models
from azaion_server.clients.deps import Handshakes, Vault
from azaion_server.clients.schemas import (
    AuthRequest,
    ChallengeResponse,
    ClientCreate,
    ClientCreated,
    ClientDetail,
    ClientName,
    EnabledUpdate,
    Session,
    VerifyRequest,
    VerifyResponse,
)
from azaion_server.deps import Changes, ClientAddress, SessionDep
from azaion_server.jwt.deps import LoginKey
from azaion_server.licenses import models as licenses
from azaion_server.licenses.schemas import LicenseInfo, LicenseUpdate
from azaion_server.vocabulary import Role

router = APIRouter(prefix="/clients", tags=["clients"], route_class=OpaqueErrorsRoute)
auth_router = APIRouter(tags=["auth"])

_HANDSHAKE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "INVALID_CREDENTIALS, whatever failed"},
    429: {"description": "TOO_MANY_ATTEMPTS"},
}


@router.post("", response_model=ClientCreated, status_code=201)
def create_client(body: ClientCreate, _admin: ApiAdmin, vault: Vault, session: SessionDep) -> ClientCreated:
    """Register a machine client; the answer holds its key, which is never shown again."""
    client, key = models.create_client(session, vault, name=body.client_name, role=body.role)
    return ClientCreated(client_name=client.name, role=Role(client.role), key=base64.b64encode(key).decode())


@router.get("", response_model=list[ClientDetail])
def list_clients(_admin: ApiAdmin, session: SessionDep) -> list[ClientDetail]:
    """Every machine client, with its state and licence (never its key)."""
    return models.list_clients(session)


@router.put("/{client_name}/enabled", response_model=Success)
def set_enabled(
    client_name: ClientName, body: EnabledUpdate, _admin: ApiAdmin, session: SessionDep
) -> Success:
    """Disable (or enable again) a client: a disabled one's tokens answer 401 at once."""
    models.set_enabled(session, client_name, body.enabled)
    return Success()


@router.put("/{client_name}/license", response_model=LicenseInfo)
def set_license(
    client_name: ClientName, body: LicenseUpdate, _admin: ApiAdmin, session: SessionDep
) -> LicenseInfo:
    """Create or replace a client's licence (the body of `PUT /users/{id}/license`)."""
    client = models.get_client(session, client_name)
    return licenses.info(licenses.set_license(session, client, body))


@router.delete("/{client_name}/hardware", response_model=Success)
def reset_hardware(
    client_name: ClientName, _admin: ApiAdmin, changes: Changes, session: SessionDep
) -> Success:
    """Unbind a client from its machine, so that it can run on another one."""
    models.reset_hardware(session, changes, client_name)
    return Success()


@router.delete("/{client_name}", response_model=Success)
def delete_client(client_name: ClientName, _admin: ApiAdmin, session: SessionDep) -> Success:
    """Delete a client; its tokens answer 401 from now on."""
    models.delete_client(session, client_name)
    return Success()


@auth_router.post("/auth", response_model=ChallengeResponse, responses=_HANDSHAKE_ERRORS)
def auth(
    body: AuthRequest, address: ClientAddress, handshake: Handshakes, session: SessionDep
) -> ChallengeResponse:
    """Start a machine client's handshake: a challenge to encrypt with its key."""
    return ChallengeResponse(challenge=handshake.challenge(session, body.client_name, address))


@auth_router.post("/auth_verify", response_model=VerifyResponse, responses=_HANDSHAKE_ERRORS)
def auth_verify(
    body: VerifyRequest, address: ClientAddress, handshake: Handshakes, session: SessionDep, jkt: LoginKey
) -> VerifyResponse:
    """Finish the handshake: the encrypted challenge for a session token (bound to the key of a
    `DPoP` proof, when one comes with it)."""
    token, duration = handshake.verify(
        session,
        name=body.client_name,
        challenge_id=body.id,
        duration=body.duration,
        encrypted_text=body.encrypted_text,
        address=address,
        jkt=jkt,
    )
    return VerifyResponse(session=Session(token=token, duration=duration))
