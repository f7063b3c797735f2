"""Login throttling against a live server over real HTTP, with two loopback source addresses.

An attacker at 127.0.0.2 floods wrong passwords for a known email while its owner logs in from
127.0.0.1: the owner is never made to wait, the attacker waits longer and longer (issue 12).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.server.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, assert_error, serving

ATTACKER = "127.0.0.2"
OWNER = "127.0.0.1"


@pytest.fixture
def make_live(make_settings, clean_db) -> Iterator[Callable[[float], Callable[[str], httpx.Client]]]:
    """`make_live(first_delay)` starts a live server whose first wait is `first_delay` seconds;
    what it returns makes clients whose connections come from a given address."""
    from azaion_server.app import create_app

    with contextlib.ExitStack() as stack:

        def start(first_delay: float) -> Callable[[str], httpx.Client]:
            settings = make_settings(
                login_max_attempts=3, login_max_attempts_per_address=6, login_delay_seconds=first_delay
            )
            url = stack.enter_context(serving(create_app(settings)))

            def client(address: str) -> httpx.Client:
                transport = httpx.HTTPTransport(local_address=address)
                return stack.enter_context(httpx.Client(base_url=url, transport=transport, timeout=30))

            return client

        yield start


def _login(client: httpx.Client, password: str, email: str = ADMIN_EMAIL) -> Any:
    return client.post("/login", json={"email": email, "password": password})


def test_a_flood_from_one_address_never_locks_the_owner_out(make_live) -> None:
    live = make_live(60)  # long enough that the flood never sees its wait end
    attacker, owner = live(ATTACKER), live(OWNER)
    statuses = [_login(attacker, f"wrong-{i}").status_code for i in range(20)]
    assert statuses[:3] == [401] * 3 and set(statuses[3:]) == {429}
    assert _login(attacker, ADMIN_PASSWORD).status_code == 429  # the flooding address waits
    for _ in range(3):
        assert _login(owner, ADMIN_PASSWORD).status_code == 200, "the owner was locked out"
        assert _login(attacker, "wrong again").status_code == 429


def test_the_flooding_address_waits_longer_and_longer(make_live) -> None:
    live = make_live(1)  # waits of 1, 2 and 4 s
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


def test_many_emails_from_one_address_make_that_address_wait(make_live) -> None:
    live = make_live(60)
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
