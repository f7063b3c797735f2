"""Bodies of `POST /login`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LoginRequest(BaseModel):
    """Email and password; absurdly long values are refused before any hashing."""

    email: str = Field(min_length=1, max_length=320)
    # The hard cap of the schema; AZAION_MAX_PASSWORD_LENGTH (lower) is checked in the logic.
    password: str = Field(min_length=1, max_length=65536)


class TokenResponse(BaseModel):
    """The signed JWT."""

    token: str
