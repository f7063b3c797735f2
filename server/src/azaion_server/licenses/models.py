"""Licences: set by an ApiAdmin, checked before an Operator reads anything."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from azaion_server.db import utcnow
from azaion_server.licenses.entities import ClientLicense, License
from azaion_server.licenses.exceptions import FolderNotLicensed, LicenseExpired, LicenseRequired
from azaion_server.licenses.schemas import LicenseInfo, LicenseUpdate
from azaion_server.licenses.settings import LicenseSettings
from azaion_server.prefetched import MISSING, recall
from azaion_server.vocabulary import Caller

AnyLicense = License | ClientLicense


def get_license(session: Session, caller: Caller) -> AnyLicense | None:
    """The licence of a user or a machine client, if any."""
    known = recall(session, "licence", (caller.kind, caller.id))  # read ahead by caller_state.prefetch
    if known is not MISSING:
        return known  # type: ignore[no-any-return]
    if caller.kind == "client":
        return session.get(ClientLicense, caller.id)
    return session.get(License, caller.id)


def set_license(session: Session, caller: Caller, update: LicenseUpdate) -> AnyLicense:
    """Create or replace the licence of a user or a machine client."""
    licence = get_license(session, caller)
    if licence is None:
        licence = (
            ClientLicense(client_id=caller.id) if caller.kind == "client" else License(user_id=caller.id)
        )
        session.add(licence)
    licence.plan = update.plan
    licence.expires_at = update.expires_at
    licence.folders = list(update.folders)
    licence.offline_hours = update.offline_hours
    licence.max_devices = update.max_devices
    session.commit()
    return licence


def info(licence: AnyLicense | None) -> LicenseInfo:
    """The public view of a licence."""
    if licence is None:
        return LicenseInfo()
    return LicenseInfo(
        plan=licence.plan,
        expires_at=licence.expires_at,
        folders=licence.folders,
        offline_hours=licence.offline_hours,
        max_devices=licence.max_devices,
    )


def check_license(
    licence: AnyLicense | None,
    settings: LicenseSettings,
    folder: str | None = None,
    now: dt.datetime | None = None,
) -> AnyLicense:
    """The licence if it is present, current and (when given) covers `folder`; else a 403."""
    if licence is None:
        raise LicenseRequired()
    now = now or utcnow()
    if licence.expires_at + dt.timedelta(seconds=settings.license_grace_seconds) <= now:
        raise LicenseExpired()
    if folder is not None and folder not in licence.folders:
        raise FolderNotLicensed()
    return licence


def licensed_folders(
    licence: AnyLicense | None, settings: LicenseSettings, now: dt.datetime | None = None
) -> frozenset[str]:
    """The folders a current licence covers; none without one or after it expired."""
    try:
        return frozenset(check_license(licence, settings, now=now).folders)
    except (LicenseRequired, LicenseExpired):
        return frozenset()
