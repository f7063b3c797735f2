"""Registering publisher keys, folder policies, and checking an upload's release statement."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from azaion_server.names import check_name
from azaion_server.publishers import statements
from azaion_server.publishers.entities import FolderPolicy, Publisher
from azaion_server.publishers.exceptions import (
    InvalidStatement,
    PublisherExists,
    PublisherNotAllowed,
    PublisherNotFound,
    SignatureRequired,
    VersionConflict,
)
from azaion_server.publishers.statements import Release

log = logging.getLogger(__name__)


def _folders(folders: list[str]) -> list[str]:
    return sorted({check_name(f) for f in folders})


def register(session: Session, *, name: str, public_key: str, folders: list[str]) -> Publisher:
    """Register a publisher key for `folders`; 409 when the name or the key is taken."""
    key, algorithm, key_id = statements.load_public_key(public_key)
    del key
    publisher = Publisher(
        name=name,
        key_id=key_id,
        algorithm=algorithm,
        public_key=public_key.strip() + "\n",
        folders=_folders(folders),
    )
    session.add(publisher)
    try:
        session.commit()
    except IntegrityError as e:
        session.rollback()
        raise PublisherExists() from e
    log.info("publisher %s registered (key %s, %s)", name, key_id[:16], algorithm)
    return publisher


def list_publishers(session: Session) -> list[Publisher]:
    """Every publisher, revoked ones too, by name."""
    return list(session.scalars(select(Publisher).order_by(Publisher.name)))


def _get(session: Session, key_id: str) -> Publisher:
    publisher = session.scalar(select(Publisher).where(Publisher.key_id == key_id))
    if publisher is None:
        raise PublisherNotFound()
    return publisher


def set_folders(session: Session, key_id: str, folders: list[str]) -> Publisher:
    """Replace the folders a key may sign for."""
    publisher = _get(session, key_id)
    publisher.folders = _folders(folders)
    session.commit()
    return publisher


def revoke(session: Session, key_id: str) -> Publisher:
    """Revoke a key: the server refuses its statements from now on (devices: see docs/security.md)."""
    publisher = _get(session, key_id)
    publisher.revoked = True
    session.commit()
    log.info("publisher %s revoked", publisher.name)
    return publisher


def set_policy(session: Session, folder: str, signatures_required: bool) -> FolderPolicy:
    """Require (or stop requiring) release statements for uploads to `folder`."""
    check_name(folder)
    policy = session.get(FolderPolicy, folder)
    if policy is None:
        policy = FolderPolicy(folder=folder)
        session.add(policy)
    policy.signatures_required = signatures_required
    session.commit()
    return policy


def signatures_required(session: Session, folder: str) -> bool:
    """Whether uploads to `folder` must carry a statement."""
    policy = session.get(FolderPolicy, folder)
    return policy is not None and policy.signatures_required


def trust_document(session: Session) -> tuple[list[Publisher], list[str]]:
    """The publishers a device should trust (not revoked) and the folders that require signatures."""
    publishers = [p for p in list_publishers(session) if not p.revoked]
    folders = session.scalars(
        select(FolderPolicy.folder)
        .where(FolderPolicy.signatures_required.is_(True))
        .order_by(FolderPolicy.folder)
    )
    return publishers, list(folders)


def check_release(
    session: Session, *, folder: str, name: str, statement: bytes | None, version_number: int
) -> Release | None:
    """The release an upload's statement names, checked; None for an unsigned upload where allowed.

    The key must be registered, not revoked, and allowed for `folder`; the statement must name
    this folder, this name and `version_number`, the next version.
    """
    if statement is None:
        if signatures_required(session, folder):
            raise SignatureRequired()
        return None
    key_id = statements.signer_key_id(statement)
    publisher = session.scalar(select(Publisher).where(Publisher.key_id == key_id))
    if publisher is None or publisher.revoked or folder not in publisher.folders:
        raise PublisherNotAllowed()
    key, _, _ = statements.load_public_key(publisher.public_key)
    release = statements.verify(statement, key)
    if release.folder != folder or release.name != name:
        raise InvalidStatement("the release statement names another resource")
    if release.version_number != version_number:
        raise VersionConflict()
    return release
