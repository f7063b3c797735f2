"""Ownership of resources, and the read policy (`vocabulary.may_read`) applied to a resource row."""

from __future__ import annotations

from azaion_server.resources.entities import Resource
from azaion_server.vocabulary import CLIENT_NAMEID_PREFIX, Caller, may_read


def owner_nameid(resource: Resource) -> str | None:
    """The `nameid` of whoever uploaded the resource (`12` or `client:3`), if still known."""
    if resource.owner_id is not None:
        return str(resource.owner_id)
    if resource.owner_client_id is not None:
        return f"{CLIENT_NAMEID_PREFIX}{resource.owner_client_id}"
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
