"""Machine client errors."""

from __future__ import annotations

from azaion_server.auth.exceptions import InvalidCredentials
from azaion_server.errors import BadRequest


class HandshakeFailed(InvalidCredentials):
    """Any failure of `POST /auth` or `POST /auth_verify`: one answer, whatever failed.

    Unknown or disabled client, unknown, used, expired or someone else's challenge, a wrong
    answer: saying which would help an attacker more than an operator (the server logs it).
    """

    message = "the machine client handshake failed"


class ClientError(BadRequest):
    """A client-administration request that cannot be carried out (answered as a bare 400)."""


class ClientNotFound(ClientError):
    """No client with that name."""


class ClientNameTaken(ClientError):
    """Another client has that name."""
