"""Token errors: all of them are 401 UNAUTHORIZED, whatever was wrong with the token."""

from __future__ import annotations

from azaion_server.errors import Unauthorized


class InvalidToken(Unauthorized):
    """Missing, malformed, expired, revoked, badly signed, or for another issuer or audience."""
