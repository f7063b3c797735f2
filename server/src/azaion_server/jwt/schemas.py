"""The claims of an azaion token (docs/protocol.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TokenClaims(BaseModel):
    """Claims checked on every authenticated call; `nameid` is the user id as a string."""

    model_config = ConfigDict(extra="allow", frozen=True)

    nameid: str
    unique_name: str
    role: str
    exp: int
    iat: int
    iss: str
    aud: str
    jti: str

    @property
    def user_id(self) -> int:
        """`nameid` as the integer id of the users table."""
        return int(self.nameid)


class LogoutResponse(BaseModel):
    """`POST /logout`."""

    success: bool = True
