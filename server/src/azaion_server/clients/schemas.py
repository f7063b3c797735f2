"""Bodies of the machine client routes: administration and the handshake."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from azaion_server.licenses.schemas import LicenseInfo
from azaion_server.vocabulary import Role

# Letters, digits, `.`, `_` and `-`, starting with a letter or digit: the name is a path segment,
# a token claim and the envelope identity, and must mean the same in each.
CLIENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ClientName = Annotated[str, Path(pattern=CLIENT_NAME_PATTERN, description="the client's name")]


class ClientCreate(BaseModel):
    """`POST /clients`."""

    client_name: str = Field(pattern=CLIENT_NAME_PATTERN)
    role: Role


class ClientCreated(BaseModel):
    """The new client's key: base64 of 32 random bytes, shown this once."""

    client_name: str
    role: Role
    key: str


class ClientDetail(BaseModel):
    """A client as `GET /clients` lists it (never its key)."""

    id: int
    client_name: str
    role: Role
    enabled: bool
    hardware_bound: bool
    created_at: dt.datetime
    license: LicenseInfo


class EnabledUpdate(BaseModel):
    """`PUT /clients/{name}/enabled`; `true` or `false`, nothing that looks like one."""

    enabled: bool = Field(strict=True)


class AuthRequest(BaseModel):
    """`POST /auth`; an over-long name is malformed (400), an unknown one a failed handshake (401)."""

    client_name: str = Field(min_length=1, max_length=256)


class Challenge(BaseModel):
    """A challenge: encrypt `text` with AES-256-CBC under the client key and `cipher_iv`."""

    id: str
    text: str
    duration: int
    cipher: str = "AES-256-CBC"
    cipher_iv: str


class ChallengeResponse(BaseModel):
    """`POST /auth` answered."""

    success: bool = True
    challenge: Challenge


class VerifyRequest(BaseModel):
    """`POST /auth_verify`: the challenge id, the wanted session length and the encrypted text."""

    client_name: str = Field(min_length=1, max_length=256)
    id: str = Field(min_length=1, max_length=256)
    duration: int = Field(
        strict=True, ge=1, le=10**9, description="wanted session length in seconds (the server may cut it)"
    )
    encrypted_text: str = Field(min_length=1, max_length=4096)


class Session(BaseModel):
    """A session token and how many seconds it lives."""

    token: str
    duration: int


class VerifyResponse(BaseModel):
    """`POST /auth_verify` answered."""

    success: bool = True
    session: Session
