"""User logic below the routes: bootstrap and concurrent creation."""

from __future__ import annotations

import pytest
from azaion_server.auth.models import PasswordService
from azaion_server.auth.settings import AuthSettings
from azaion_server.db import make_sessionmaker
from azaion_server.users import models
from azaion_server.vocabulary import Role

PASSWORDS = PasswordService(AuthSettings(argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1))


def test_bootstrap_only_when_there_is_no_api_admin(clean_db) -> None:
    sessions = make_sessionmaker(clean_db)
    with sessions() as session:
        assert models.bootstrap_admin(session, PASSWORDS, "Root@Example.com", "password-1")
        assert not models.bootstrap_admin(session, PASSWORDS, "other@example.com", "password-2")
        assert [u.email for u in models.list_users(session)] == ["root@example.com"]


def test_bootstrap_with_a_taken_email_creates_nothing(clean_db) -> None:
    with make_sessionmaker(clean_db)() as session:
        models.create_user(
            session, PASSWORDS, email="root@example.com", password="password-1", role=Role.OPERATOR
        )
        assert not models.bootstrap_admin(session, PASSWORDS, "root@example.com", "password-2")


def test_concurrent_creation_of_one_email(clean_db, monkeypatch: pytest.MonkeyPatch) -> None:
    from azaion_server.users.exceptions import EmailTaken
    from sqlalchemy import false

    sessions = make_sessionmaker(clean_db)
    with sessions() as session:
        models.create_user(
            session, PASSWORDS, email="u@example.com", password="password-1", role=Role.OPERATOR
        )
    real_select = models.select
    # The duplicate check sees nothing, as if the other request had not committed yet.
    monkeypatch.setattr(models, "select", lambda *e: real_select(*e).where(false()))
    with sessions() as session, pytest.raises(EmailTaken):
        models.create_user(
            session, PASSWORDS, email="u@example.com", password="password-2", role=Role.OPERATOR
        )


def test_repr_hides_the_hash() -> None:
    from azaion_server.users.entities import User

    user = User(id=1, email="a@b.c", password_hash="$argon2id$secret", role="Admin")
    assert "argon2" not in repr(user) and "a@b.c" in repr(user)
