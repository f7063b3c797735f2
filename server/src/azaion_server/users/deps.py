"""`ApiAdmin`: the user-administration routes are for ApiAdmins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from azaion_server.auth.deps import require_roles
from azaion_server.users.entities import Role, User

ApiAdmin = Annotated[User, Depends(require_roles(Role.API_ADMIN))]
