"""argon2id hashing, the verification cache, the throttle and hardware binding, below the routes."""

from __future__ import annotations

import pytest
from azaion_server.auth.exceptions import HardwareMismatch, TooManyAttempts
from azaion_server.auth.models import PasswordService, Throttle, bind_hardware
from azaion_server.auth.settings import AuthSettings
from azaion_server.db import make_sessionmaker
from azaion_server.users import models as users
from azaion_server.users.entities import User
from azaion_server.vocabulary import Role
from sqlalchemy.orm import Session

from tests.server.helpers import HW1, HW2

CHEAP = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}


def test_hashes_are_argon2id_and_verify() -> None:
    passwords = PasswordService(AuthSettings(**CHEAP))
    hashed = passwords.hash("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert passwords.verify(hashed, "correct horse")
    assert not passwords.verify(hashed, "wrong")
    assert not passwords.verify("not a hash", "correct horse")
    assert not passwords.verify(hashed, "x" * 2000)
    assert not passwords.needs_rehash(hashed)
    assert passwords.needs_rehash("not a hash")
    stronger = PasswordService(AuthSettings(**{**CHEAP, "argon2_time_cost": 2}))
    assert stronger.needs_rehash(hashed)
    assert "argon2" in repr(passwords)


def test_library_defaults_are_rfc_9106_low_memory() -> None:
    settings = AuthSettings()
    assert (settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism) == (
        3,
        65536,
        4,
    )


def test_verification_cache() -> None:
    passwords = PasswordService(AuthSettings(**CHEAP, password_cache_seconds=60))
    user = User(id=1, email="a@b.c", password_hash=passwords.hash("pw-12345"), role="Operator")
    assert not passwords.is_cached(user, "pw-12345")
    assert passwords.verify_user(user, "pw-12345")
    assert passwords.is_cached(user, "pw-12345")
    assert not passwords.is_cached(user, "other")
    assert not passwords.verify_user(user, "other")
    assert not passwords.is_cached(user, "y" * 5000)
    # A new password hash (a password change) misses the cache.
    user.password_hash = passwords.hash("pw-12345")
    assert not passwords.is_cached(user, "pw-12345")
    # Keys are HMACs: no password in memory.
    assert all(b"pw-12345" not in key for key in passwords._cache)


def test_cache_is_bounded_and_can_be_off() -> None:
    passwords = PasswordService(AuthSettings(**CHEAP, password_cache_seconds=60))
    passwords._MAX_ENTRIES = 3
    hashed = passwords.hash("pw-12345")
    for i in range(5):
        assert passwords.verify_user(User(id=i, email="a@b.c", password_hash=hashed, role="x"), "pw-12345")
    assert len(passwords._cache) == 3
    off = PasswordService(AuthSettings(**CHEAP, password_cache_seconds=0))
    user = User(id=1, email="a@b.c", password_hash=hashed, role="x")
    assert off.verify_user(user, "pw-12345") and not off.is_cached(user, "pw-12345")


def test_throttle_counts_per_email_and_address(clean_db) -> None:
    throttle = Throttle(
        AuthSettings(login_max_attempts=2, login_max_attempts_per_address=3, login_window_seconds=30)
    )
    with make_sessionmaker(clean_db)() as session:
        session: Session
        throttle.check(session, "a@b.c", "10.0.0.1")
        throttle.record_failure(session, "a@b.c", "10.0.0.1")
        throttle.record_failure(session, "a@b.c", "10.0.0.1")
        with pytest.raises(TooManyAttempts) as caught:
            throttle.check(session, "a@b.c", "10.0.0.2")
        assert 1 <= caught.value.retry_after <= 30
        assert caught.value.headers == {"Retry-After": str(caught.value.retry_after)}
        throttle.check(session, "other@b.c", "10.0.0.2")
        throttle.record_failure(session, "other@b.c", "10.0.0.1")
        with pytest.raises(TooManyAttempts):
            throttle.check(session, "third@b.c", "10.0.0.1")  # the address is over its limit
        throttle.check(session, "third@b.c", None)
        throttle.clear(session, "a@b.c")
        session.commit()
        throttle.check(session, "a@b.c", "10.0.0.2")


def test_binding_is_first_come(clean_db) -> None:
    sessions = make_sessionmaker(clean_db)
    with sessions() as session:
        user = users.create_user(
            session,
            PasswordService(AuthSettings(**CHEAP)),
            email="u@example.com",
            password="password-1",
            role=Role.OPERATOR,
        )
    # Two requests loaded the user unbound; the first binds, the second must lose.
    with sessions() as first, sessions() as second:
        mine = first.get(type(user), user.id)
        theirs = second.get(type(user), user.id)
        bind_hardware(first, mine, HW1)
        with pytest.raises(HardwareMismatch):
            bind_hardware(second, theirs, HW2)
        bind_hardware(first, mine, HW1)  # the same machine again is fine
