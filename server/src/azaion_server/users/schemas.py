"""Bodies of the user-administration routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from azaion_server.errors import MAX_ID
from azaion_server.licenses.schemas import LicenseInfo
from azaion_server.users.entities import Role

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="the user's id")]


class UserCreate(BaseModel):
    """`POST /users`."""

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=65536)
    role: Role


class RoleUpdate(BaseModel):
    """`PUT /users/{id}/role`."""

    role: Role


class UserOut(BaseModel):
    """A user as `POST /users` answers it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    role: Role


class UserDetail(UserOut):
    """A user as `GET /users` lists it."""

    hardware_bound: bool
    license: LicenseInfo


class Success(BaseModel):
    """An action that has nothing else to say."""

    success: bool = True
