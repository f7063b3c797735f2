"""The download hot path: envelope keys remembered per caller and machine, and when they are not."""

from __future__ import annotations

import time

import pytest
from azaion_server.envelope import EnvelopeKeys
from azaion_server.resources.keycache import EnvelopeKeyCache
from azaion_server.users.entities import User
from sqlalchemy import update

from tests.server.helpers import HW1, HW2, Api, assert_error

KEYS = EnvelopeKeys(b"e" * 32, b"m" * 32)


def test_slots_hide_their_inputs_and_do_not_collide() -> None:
    cache = EnvelopeKeyCache(60)
    slot = cache.slot(b"user", b"7", b"hash", b"password", b"hw")
    assert b"password" not in slot and len(slot) == 32
    assert cache.slot(b"ab", b"c") != cache.slot(b"a", b"bc")
    assert EnvelopeKeyCache(60).slot(b"x") != cache.slot(b"x")  # a key per process
    assert "entries=0" in repr(cache)


def test_entries_expire_with_the_token_or_the_setting() -> None:
    cache = EnvelopeKeyCache(60)
    cache.put(cache.slot(b"a"), KEYS, time.time() + 3600)
    assert cache.get(cache.slot(b"a")) is KEYS
    cache.put(cache.slot(b"b"), KEYS, time.time() - 1)  # the token expired already: not kept
    assert cache.get(cache.slot(b"b")) is None and len(cache) == 1
    cache.put(cache.slot(b"c"), KEYS, time.time() + 0.05)
    time.sleep(0.1)
    assert cache.get(cache.slot(b"c")) is None and len(cache) == 1
    off = EnvelopeKeyCache(0)
    off.put(off.slot(b"a"), KEYS, time.time() + 3600)
    assert len(off) == 0


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EnvelopeKeyCache, "MAX_ENTRIES", 3)
    cache = EnvelopeKeyCache(60)
    for i in range(5):
        cache.put(cache.slot(bytes([i])), KEYS, time.time() + 60)
    assert len(cache) == 3
    assert cache.get(cache.slot(b"\x00")) is None and cache.get(cache.slot(b"\x04")) is KEYS


def test_a_users_second_download_costs_no_argon2_and_no_kdf(api, monkeypatch: pytest.MonkeyPatch) -> None:
    import azaion_server.resources.models as models

    person = api.user("Admin")
    api.upload("models", "m.bin", b"data")
    assert api.read(person, "models", "m.bin") == b"data"
    context = api.client.app.state.context
    monkeypatch.setattr(context.passwords, "verify", lambda *a: pytest.fail("argon2 on the hot path"))
    monkeypatch.setattr(models, "user_keys", lambda *a: pytest.fail("HKDF on the hot path"))
    assert api.read(person, "models", "m.bin") == b"data"
    monkeypatch.undo()
    assert_error(api.get(person, "models", "m.bin", password="not-the-password"), 401, "INVALID_CREDENTIALS")


def test_a_password_change_misses_the_cache(api, clean_db) -> None:
    person = api.user("Admin")
    api.upload("models", "m.bin", b"data")
    assert api.read(person, "models", "m.bin") == b"data"
    context = api.client.app.state.context
    with clean_db.begin() as connection:
        connection.execute(
            update(User)
            .where(User.id == person.id)
            .values(password_hash=context.passwords.hash("new-password"))
        )
    assert_error(api.get(person, "models", "m.bin"), 401, "INVALID_CREDENTIALS")
    assert api.get(person, "models", "m.bin", password="new-password").status_code == 200


def test_a_revoked_token_is_refused_before_the_cache(api) -> None:
    person = api.user("Admin")
    api.upload("models", "m.bin", b"data")
    assert api.read(person, "models", "m.bin") == b"data"
    api.client.post("/logout", headers=person.headers)
    assert_error(api.get(person, "models", "m.bin"), 401, "UNAUTHORIZED")


def test_cache_off(make_client, monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(make_client(password_cache_seconds=0))
    person = api.user("Admin")
    api.upload("models", "m.bin", b"data")
    assert api.read(person, "models", "m.bin") == b"data"
    assert len(api.client.app.state.context.envelope_keys) == 0
    calls = []
    real = api.client.app.state.context.passwords.verify
    monkeypatch.setattr(
        api.client.app.state.context.passwords, "verify", lambda *a: calls.append(1) or real(*a)
    )
    assert api.read(person, "models", "m.bin") == b"data"
    assert calls == [1]


def test_each_machine_its_own_keys(api) -> None:
    person = api.user("Admin")
    api.upload("models", "m.bin", b"data")
    assert api.read(person, "models", "m.bin", HW1) == b"data"
    api.client.delete(f"/users/{person.id}/hardware", headers=api.admin)
    assert api.read(person, "models", "m.bin", HW2) == b"data"  # opens with HW2's keys, not HW1's
