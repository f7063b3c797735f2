"""Login throttling against a live server over real HTTP, with two loopback source addresses.

An attacker at 127.0.0.2 floods wrong passwords for a known email while its owner logs in from
127.0.0.1: the owner is never made to wait, the attacker waits longer and longer (issue 12).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.server.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, assert_error, serving

ATTACKER = "127.0.0.2"
OWNER = "127.0.0.1"


@pytest.fixture
def live(make_settings, clean_db) -> Iterator[Callable[[str], httpx.Client]]:
    """A live server; `live(address)` is a client whose connections come from `address`."""
    from azaion_server.app import create_app

    settings = make_settings(login_max_attempts=3, login_max_attempts_per_address=6, login_delay_seconds=1)
    clients: list[httpx.Client] = []
    with serving(create_app(settings)) as url:

        def client(address: str) -> httpx.Client:
            transport = httpx.HTTPTransport(local_address=address)
            clients.append(httpx.Client(base_url=url, transport=transport, timeout=30))
            return clients[-1]

        yield client
        for each in clients:
            each.close()


def _login(client: httpx.Client, password: str, email: str = ADMIN_EMAIL) -> Any:
    return client.post("/login", json={"email": email, "password": password})


def test_a_flood_from_one_address_never_locks_the_owner_out(live) -> None:
    attacker, owner = live(ATTACKER), live(OWNER)
    statuses = [_login(attacker, f"wrong-{i}").status_code for i in range(20)]
    assert statuses[:3] == [401] * 3 and set(statuses[3:]) == {429}
    assert _login(attacker, ADMIN_PASSWORD).status_code == 429  # the flooding address waits
    for _ in range(3):
        assert _login(owner, ADMIN_PASSWORD).status_code == 200, "the owner was locked out"
        assert _login(attacker, "wrong again").status_code == 429


def test_the_flooding_address_waits_longer_and_longer(live) -> None:
    attacker, owner = live(ATTACKER), live(OWNER)
    for i in range(3):
        assert_error(_login(attacker, f"wrong-{i}"), 401, "INVALID_CREDENTIALS")
    waits = []
    for i in range(3):
        refused = assert_error_429(_login(attacker, f"early-{i}"))
        waits.append(refused)
        time.sleep(refused + 0.2)  # the wait is over: one more try is checked, and fails
        assert_error(_login(attacker, f"late-{i}"), 401, "INVALID_CREDENTIALS")
        assert _login(owner, ADMIN_PASSWORD).status_code == 200
    assert waits == sorted(waits) and waits[-1] > waits[0], waits


def test_many_emails_from_one_address_make_that_address_wait(live) -> None:
    attacker, owner = live(ATTACKER), live(OWNER)
    for i in range(6):  # one wrong password each for six emails: the address's allowance
        assert_error(_login(attacker, "wrong", f"user{i}@example.com"), 401, "INVALID_CREDENTIALS")
    assert_error_429(_login(attacker, ADMIN_PASSWORD))
    assert_error_429(_login(attacker, "wrong", "yet-another@example.com"))
    assert _login(owner, ADMIN_PASSWORD).status_code == 200


def assert_error_429(response: Any) -> int:
    """A TOO_MANY_ATTEMPTS answer; its Retry-After in seconds."""
    assert_error(response, 429, "TOO_MANY_ATTEMPTS")
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after
