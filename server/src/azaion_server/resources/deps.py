"""Role requirements of the resource routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from azaion_server.auth.deps import require_roles
from azaion_server.callers import Caller
from azaion_server.users.entities import ADMIN_ROLES, UPLOADER_ROLES

Uploader = Annotated[Caller, Depends(require_roles(*UPLOADER_ROLES))]
ResourceAdmin = Annotated[Caller, Depends(require_roles(*ADMIN_ROLES))]
