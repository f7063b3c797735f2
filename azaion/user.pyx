# cython: language_level=3, embedsignature=True
"""The authenticated user, as the server's JWT describes it."""

cdef dict _ROLES = {
    "ApiAdmin": RoleEnum.ApiAdmin,
    "Admin": RoleEnum.Admin,
    "ResourceUploader": RoleEnum.ResourceUploader,
    "Validator": RoleEnum.Validator,
    "Operator": RoleEnum.Operator,
}


def role_from_claim(object claim):
    """Map a JWT ``role`` claim to :class:`RoleEnum` (``NONE`` for anything unknown)."""
    if isinstance(claim, list):
        # Some issuers send several roles: the strongest one counts.
        roles = [role_from_claim(item) for item in claim]
        return max(roles) if roles else RoleEnum.NONE
    return RoleEnum(_ROLES.get(claim, RoleEnum.NONE))


cdef class User:
    """Who is logged in: id (``nameid``), email (``unique_name``) and role."""

    def __init__(self, str id, str email, object role):
        self.id = id
        self.email = email
        self._role = role if isinstance(role, int) else role_from_claim(role)

    @staticmethod
    cdef User new(str id, str email, str role):
        cdef User user = User.__new__(User)
        user.id = id
        user.email = email
        user._role = role_from_claim(role)
        return user

    @property
    def role(self):
        """The user's :class:`RoleEnum`."""
        return RoleEnum(self._role)

    def __repr__(self):
        return f"User(id={self.id!r}, email={self.email!r}, role={RoleEnum(self._role).name})"

    def __eq__(self, other):
        if not isinstance(other, User):
            return NotImplemented
        return (self.id, self.email, self.role) == (other.id, other.email, other.role)

    def __hash__(self):
        return hash((self.id, self.email, int(self._role)))
