"""Bodies of `POST /login` and of the user-administration routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from azaion_server.licenses.schemas import LicenseInfo
from azaion_server.vocabulary import MAX_ID, Role

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="the user's id")]


class LoginRequest(BaseModel):
    """Email and password; absurdly long values are refused before any hashing."""

    email: str = Field(min_length=1, max_length=320)
    # The hard cap of the schema; AZAION_MAX_PASSWORD_LENGTH (lower) is checked in the logic.
    password: str = Field(min_length=1, max_length=65536)


class TokenResponse(BaseModel):
    """The signed JWT."""

    token: str


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
