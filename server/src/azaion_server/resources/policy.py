"""The read policy of DESIGN.md's roles table, shared by downloads, listings and event streams."""

from __future__ import annotations

from azaion_server.callers import Caller
from azaion_server.resources.entities import Resource
from azaion_server.users.entities import ADMIN_ROLE_VALUES, Role

_READS_UNPUBLISHED = Role.VALIDATOR.value
_READS_PUBLISHED = frozenset({Role.RESOURCE_UPLOADER.value, Role.OPERATOR.value})


def may_read(role: str, *, owner: bool, alive: bool, published: bool) -> bool:
    """Whether `role` may read a resource in this state (licences are checked apart).

    Admins read anything; uploaders what they uploaded (dead or alive) and live published
    resources; Validators live resources, published or not; Operators live published ones.
    Unknown roles: nothing.
    """
    if role in ADMIN_ROLE_VALUES:
        return True
    if role == Role.RESOURCE_UPLOADER.value and owner:
        return True
    if not alive:
        return False
    if role == _READS_UNPUBLISHED:
        return True
    return role in _READS_PUBLISHED and published


def owner_nameid(resource: Resource) -> str | None:
    """The `nameid` of whoever uploaded the resource (`12` or `client:3`), if still known."""
    if resource.owner_id is not None:
        return str(resource.owner_id)
    if resource.owner_client_id is not None:
        return f"client:{resource.owner_client_id}"
    return None


def is_owner(caller: Caller, resource: Resource) -> bool:
    """True when `caller` uploaded `resource`."""
    if caller.kind == "client":
        return resource.owner_client_id == caller.id
    return resource.owner_id == caller.id


def can_read(caller: Caller, resource: Resource) -> bool:
    """`may_read` for a caller and a resource row."""
    return may_read(
        caller.role, owner=is_owner(caller, resource), alive=resource.alive, published=resource.published
    )
