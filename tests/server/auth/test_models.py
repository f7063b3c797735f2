"""argon2id hashing, the throttle and hardware binding, below the routes."""

from __future__ import annotations

import pytest
from azaion_server.auth.entities import LoginFailure
from azaion_server.auth.exceptions import HardwareMismatch, TooManyAttempts
from azaion_server.auth.models import Attempt, PasswordService, Throttle, bind_hardware
from azaion_server.auth.settings import AuthSettings
from azaion_server.db import make_sessionmaker
from azaion_server.users import models as users
from azaion_server.vocabulary import Role
from sqlalchemy import select
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


def test_throttle_waits_per_pair_and_per_address_never_per_name(clean_db) -> None:
    throttle = Throttle(
        AuthSettings(
            login_max_attempts=2,
            login_max_attempts_per_address=3,
            login_delay_seconds=10,
            login_window_seconds=30,
        )
    )
    attacker = Attempt("email", "a@b.c", "10.0.0.1")
    owner = Attempt("email", "a@b.c", "10.0.0.2")
    with make_sessionmaker(clean_db)() as session:
        session: Session
        throttle.check(session, attacker)
        throttle.record_failure(session, attacker)
        throttle.record_failure(session, attacker)
        with pytest.raises(TooManyAttempts) as caught:
            throttle.check(session, attacker)
        assert 1 <= caught.value.retry_after <= 10
        assert caught.value.headers == {"Retry-After": str(caught.value.retry_after)}
        throttle.check(session, owner)  # the same email from elsewhere does not wait
        throttle.record_failure(session, Attempt("email", "other@b.c", "10.0.0.1"))
        with pytest.raises(TooManyAttempts):
            throttle.check(session, Attempt("email", "third@b.c", "10.0.0.1"))  # the address is over
        throttle.check(session, Attempt("email", "third@b.c", None))
        throttle.clear(session, attacker)
        session.commit()
        with pytest.raises(TooManyAttempts):
            throttle.check(session, attacker)  # its address still waits
        keys = session.scalars(select(LoginFailure.key)).all()
        assert keys and not any("a@b.c" in key for key in keys)


def test_delays_double_up_to_the_window() -> None:
    throttle = Throttle(AuthSettings(login_delay_seconds=2, login_window_seconds=30))
    assert [throttle.delay(failures, 3) for failures in range(8)] == [0, 0, 0, 2, 4, 8, 16, 30]
    assert throttle.delay(10_000, 3) == 30
    assert "a@b.c" not in repr(Attempt("email", "a@b.c", "10.0.0.1"))


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
