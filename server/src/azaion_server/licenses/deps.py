"""`CallerLicense`: the licence of the calling user, if any."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from azaion_server.auth.deps import CurrentUser
from azaion_server.deps import SessionDep
from azaion_server.licenses.entities import License
from azaion_server.licenses.models import get_license


def get_caller_license(user: CurrentUser, session: SessionDep) -> License | None:
    """The caller's licence, or None."""
    return get_license(session, user.id)


CallerLicense = Annotated[License | None, Depends(get_caller_license)]
