# Stub of the compiled azaion.user.
from enum import IntFlag

class RoleEnum(IntFlag):
    """The roles of the Resource API, weakest first."""

    NONE = 0
    Operator = 10
    Validator = 20
    ResourceUploader = 30
    Admin = 40
    ApiAdmin = 50

def role_from_claim(claim: object) -> RoleEnum:
    """Map a JWT ``role`` claim to :class:`RoleEnum` (``NONE`` for anything unknown)."""

class User:
    """Who is logged in: id (``nameid``), email (``unique_name``) and role."""

    @property
    def id(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def role(self) -> RoleEnum:
        """The user's :class:`RoleEnum`."""
    def __init__(self, id: str, email: str, role: object) -> None: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
