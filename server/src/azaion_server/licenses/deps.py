"""`CallerLicense`: the licence of the calling user or machine client, if any; the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from azaion_server.auth.deps import CurrentCaller
from azaion_server.deps import SessionDep, provide
from azaion_server.licenses.models import AnyLicense, get_license
from azaion_server.licenses.settings import LicenseSettings

Licensing = Annotated[LicenseSettings, Depends(provide(LicenseSettings))]


def get_caller_license(caller: CurrentCaller, session: SessionDep) -> AnyLicense | None:
    """The caller's licence, or None."""
    return get_license(session, caller)


CallerLicense = Annotated[AnyLicense | None, Depends(get_caller_license)]
