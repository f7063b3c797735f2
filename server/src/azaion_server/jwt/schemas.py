"""The claims of an azaion token (docs/protocol.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from azaion_server.errors import MAX_ID


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
        """`nameid` as the integer id of the users table; ValueError when it is not one."""
        value = int(self.nameid) if self.nameid.isdigit() and len(self.nameid) <= 10 else 0
        if not 0 < value <= MAX_ID:
            raise ValueError("nameid is not a user id")
        return value


class LogoutResponse(BaseModel):
    """`POST /logout`."""

    success: bool = True
