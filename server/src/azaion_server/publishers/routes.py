"""Publisher keys and folder policies: ApiAdmin only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from azaion_server.auth.deps import ApiAdmin
from azaion_server.deps import SessionDep
from azaion_server.publishers import models
from azaion_server.publishers.schemas import (
    KEY_ID_PATTERN,
    FolderPolicyBody,
    FolderPolicyOut,
    FoldersUpdate,
    PublisherCreate,
    PublisherOut,
    TrustDocument,
)

router = APIRouter(prefix="/publishers", tags=["publishers"])
KeyId = Annotated[str, Path(pattern=KEY_ID_PATTERN, description="SHA-256 (hex) of the PEM public key")]


@router.post("", response_model=PublisherOut, status_code=201)
def register_publisher(body: PublisherCreate, _admin: ApiAdmin, session: SessionDep) -> PublisherOut:
    """Register a publisher's public key and the folders it may sign releases for."""
    publisher = models.register(session, name=body.name, public_key=body.public_key, folders=body.folders)
    return PublisherOut.of(publisher)


@router.get("", response_model=list[PublisherOut])
def list_publishers(_admin: ApiAdmin, session: SessionDep) -> list[PublisherOut]:
    """Every publisher, revoked ones too."""
    return [PublisherOut.of(p) for p in models.list_publishers(session)]


@router.get("/trust", response_model=TrustDocument)
def trust_document(_admin: ApiAdmin, session: SessionDep) -> TrustDocument:
    """The trusted publishers file for devices (AZAION_TRUSTED_PUBLISHERS); hand it out out of band."""
    publishers, folders = models.trust_document(session)
    return TrustDocument(publishers=[PublisherOut.of(p) for p in publishers], signed_folders=folders)


@router.put("/folders/{folder}", response_model=FolderPolicyOut)
def set_folder_policy(
    folder: str, body: FolderPolicyBody, _admin: ApiAdmin, session: SessionDep
) -> FolderPolicyOut:
    """Require (or stop requiring) a release statement on every upload to `folder`."""
    policy = models.set_policy(session, folder, body.signatures_required)
    return FolderPolicyOut(folder=policy.folder, signatures_required=policy.signatures_required)


@router.put("/{key_id}/folders", response_model=PublisherOut)
def set_folders(key_id: KeyId, body: FoldersUpdate, _admin: ApiAdmin, session: SessionDep) -> PublisherOut:
    """Replace the folders a publisher key may sign for."""
    return PublisherOut.of(models.set_folders(session, key_id, body.folders))


@router.post("/{key_id}/revoke", response_model=PublisherOut)
def revoke_publisher(key_id: KeyId, _admin: ApiAdmin, session: SessionDep) -> PublisherOut:
    """Revoke a publisher key: the server refuses its statements from now on."""
    return PublisherOut.of(models.revoke(session, key_id))
