"""Licences: set by an ApiAdmin, checked before an Operator reads anything."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from azaion_server.db import utcnow
from azaion_server.licenses.entities import License
from azaion_server.licenses.exceptions import FolderNotLicensed, LicenseExpired, LicenseRequired
from azaion_server.licenses.schemas import LicenseInfo, LicenseUpdate
from azaion_server.licenses.settings import LicenseSettings


def get_license(session: Session, user_id: int) -> License | None:
    """The licence of a user, if any."""
    return session.get(License, user_id)


def set_license(session: Session, user_id: int, update: LicenseUpdate) -> License:
    """Create or replace a user's licence (the caller checked the user exists)."""
    licence = session.get(License, user_id)
    if licence is None:
        licence = License(user_id=user_id)
        session.add(licence)
    licence.plan = update.plan
    licence.expires_at = update.expires_at
    licence.folders = list(update.folders)
    session.commit()
    return licence


def info(licence: License | None) -> LicenseInfo:
    """The public view of a licence."""
    if licence is None:
        return LicenseInfo()
    return LicenseInfo(plan=licence.plan, expires_at=licence.expires_at, folders=licence.folders)


def check_license(
    licence: License | None,
    settings: LicenseSettings,
    folder: str | None = None,
    now: dt.datetime | None = None,
) -> License:
    """The licence if it is present, current and (when given) covers `folder`; else a 403."""
    if licence is None:
        raise LicenseRequired()
    now = now or utcnow()
    if licence.expires_at + dt.timedelta(seconds=settings.license_grace_seconds) <= now:
        raise LicenseExpired()
    if folder is not None and folder not in licence.folders:
        raise FolderNotLicensed()
    return licence
