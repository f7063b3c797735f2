"""User errors. Every one of them answers 400 BAD_REQUEST on the administration routes."""

from __future__ import annotations

from azaion_server.errors import BadRequest


class UserError(BadRequest):
    """A user-administration request that cannot be carried out (the client is not told why)."""


class UserNotFound(UserError):
    """No user with that id."""


class EmailTaken(UserError):
    """Another user has that email."""


class InvalidEmail(UserError):
    """Not something that looks like an email address."""


class WeakPassword(UserError):
    """Too short or too long."""


class LastApiAdmin(UserError):
    """The change would leave the server with no ApiAdmin."""
