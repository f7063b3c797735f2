"""Token errors: all of them are 401 UNAUTHORIZED, whatever was wrong with the token."""

from __future__ import annotations

from azaion_server.errors import Unauthorized


class InvalidToken(Unauthorized):
    """Missing, malformed, expired, revoked, badly signed, or for another issuer or audience."""


class InvalidProof(Unauthorized):
    """A missing, malformed, replayed, stale or misdirected DPoP proof, or one signed by another key
    than the token is bound to: one code for all (docs/protocol.md)."""

    code = "INVALID_DPOP_PROOF"
    message = "the request's device proof (DPoP) was refused: check the device's clock and its key"
