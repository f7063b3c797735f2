"""`ApiAdmin`: the user and client administration routes are for ApiAdmins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from azaion_server.auth.deps import require_roles
from azaion_server.callers import Caller
from azaion_server.users.entities import Role

ApiAdmin = Annotated[Caller, Depends(require_roles(Role.API_ADMIN))]
