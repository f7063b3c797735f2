"""The claims of an azaion token (docs/protocol.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from azaion_server.vocabulary import CLIENT_NAMEID_PREFIX, MAX_ID


def _id_of(text: str) -> int:
    value = int(text) if text.isdigit() and len(text) <= 10 else 0
    if not 0 < value <= MAX_ID:
        raise ValueError("nameid holds no valid id")
    return value


class TokenClaims(BaseModel):
    """Claims checked on every authenticated call.

    `nameid` is a user's id as a string (`12`), or `client:<id>` for a machine client.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    nameid: str
    unique_name: str
    role: str
    exp: int
    iat: int
    iss: str
    aud: str
    jti: str
    # RFC 9449: the thumbprint of the device key the token is bound to.
    cnf: dict[str, str] | None = None

    @property
    def jkt(self) -> str | None:
        """The bound key's thumbprint (`cnf.jkt`), None for a token bound to no device."""
        return self.cnf.get("jkt") if self.cnf else None

    @property
    def kind(self) -> str:
        """`user` or `client`, from the form of `nameid`."""
        return "client" if self.nameid.startswith(CLIENT_NAMEID_PREFIX) else "user"

    @property
    def subject_id(self) -> int:
        """The id in `nameid` (of the users or the clients table); ValueError when malformed."""
        if self.kind == "client":
            return _id_of(self.nameid[len(CLIENT_NAMEID_PREFIX) :])
        return _id_of(self.nameid)

    @property
    def user_id(self) -> int:
        """`nameid` as the integer id of the users table; ValueError when it is not one."""
        if self.kind != "user":
            raise ValueError("nameid is not a user id")
        return self.subject_id


class LogoutResponse(BaseModel):
    """`POST /logout`."""

    success: bool = True
