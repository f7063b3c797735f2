"""The shared vocabulary: the spelling of emails, the read policy of the roles table."""

from __future__ import annotations

import pytest
from azaion_server.vocabulary import Role, may_read


def test_normalise_email() -> None:
    from azaion_server.vocabulary import normalise_email

    assert normalise_email("  MiXed@Case.Example\t") == "mixed@case.example"


@pytest.mark.parametrize("role", list(Role))
def test_nobody_but_admins_and_owners_reads_the_dead(role: Role) -> None:
    admin = role in (Role.API_ADMIN, Role.ADMIN)
    assert may_read(role.value, owner=False, alive=False, published=True) is admin
    owner_reads = admin or role == Role.RESOURCE_UPLOADER
    assert may_read(role.value, owner=True, alive=False, published=False) is owner_reads


def test_unknown_roles_read_nothing() -> None:
    assert not may_read("Ghost", owner=True, alive=True, published=True)
