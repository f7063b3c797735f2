"""The machine client handshake (`POST /auth`, `POST /auth_verify`), step by step as the seed has it.

Every failure must answer the same 401 body, whatever failed: unknown client, used, expired or
another client's challenge, a wrong key, a tampered IV or ciphertext.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import jwt as pyjwt
import pytest
from azaion_server.clients.entities import AuthChallenge
from sqlalchemy import func, select, update

from tests.server.helpers import Api, answer_challenge, assert_error

FAILED = {"success": False, "code": "INVALID_CREDENTIALS", "message": "the machine client handshake failed"}


def _challenge(api: Api, name: str) -> dict:
    response = api.client.post("/auth", json={"client_name": name})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["challenge"]


def _verify(api: Api, name: str, challenge: dict, key: bytes, duration: int = 3600, iv: str | None = None):
    body = {
        "client_name": name,
        "id": challenge["id"],
        "duration": duration,
        "encrypted_text": answer_challenge(key, challenge["text"], iv or challenge["cipher_iv"]),
    }
    return api.client.post("/auth_verify", json=body)


def _refused(response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == FAILED


def test_the_seed_flow_step_by_step(api) -> None:
    drone = api.machine("Operator", name="drone-07", login=False)
    assert len(drone.key) == 32
    challenge = _challenge(api, "drone-07")
    assert set(challenge) == {"id", "text", "duration", "cipher", "cipher_iv"}
    assert challenge["cipher"] == "AES-256-CBC"
    assert len(base64.b64decode(challenge["cipher_iv"], validate=True)) == 16
    assert challenge["duration"] == 60
    assert len(challenge["text"]) >= 32
    response = _verify(api, "drone-07", challenge, drone.key, duration=600)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["session"]["duration"] == 600
    token = body["session"]["token"]
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["nameid"].startswith("client:") and claims["nameid"][7:].isdigit()
    assert (claims["unique_name"], claims["role"]) == ("drone-07", "Operator")
    assert claims["exp"] - claims["iat"] == 600
    # The token is checked like a user's.
    info = api.client.get("/license/info", headers={"Authorization": f"Bearer {token}"})
    assert info.status_code == 200 and info.json() == {
        "plan": None,
        "expires_at": None,
        "folders": None,
        "offline_hours": None,
        "max_devices": None,
    }


def test_challenges_are_fresh_each_time(api) -> None:
    drone = api.machine("Operator", login=False)
    first, second = _challenge(api, drone.name), _challenge(api, drone.name)
    assert first["id"] != second["id"]
    assert first["text"] != second["text"] and first["cipher_iv"] != second["cipher_iv"]


def test_the_server_cuts_long_sessions(make_client) -> None:
    api = Api(make_client(client_session_max_seconds=120))
    drone = api.machine("Operator", login=False)
    response = _verify(api, drone.name, _challenge(api, drone.name), drone.key, duration=10**6)
    assert response.json()["session"]["duration"] == 120
    claims = pyjwt.decode(response.json()["session"]["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120


def test_a_used_challenge_cannot_be_replayed(api) -> None:
    drone = api.machine("Operator", login=False)
    challenge = _challenge(api, drone.name)
    assert _verify(api, drone.name, challenge, drone.key).status_code == 200
    _refused(_verify(api, drone.name, challenge, drone.key))


def test_a_wrong_answer_burns_the_challenge(api) -> None:
    drone = api.machine("Operator", login=False)
    challenge = _challenge(api, drone.name)
    _refused(_verify(api, drone.name, challenge, os.urandom(32)))
    _refused(_verify(api, drone.name, challenge, drone.key))


def test_an_expired_challenge(api, clean_db) -> None:
    drone = api.machine("Operator", login=False)
    challenge = _challenge(api, drone.name)
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    with clean_db.begin() as connection:
        connection.execute(
            update(AuthChallenge).where(AuthChallenge.id == challenge["id"]).values(expires_at=past)
        )
    _refused(_verify(api, drone.name, challenge, drone.key))


def test_expired_challenges_are_cleared_and_open_ones_capped(api, clean_db) -> None:
    drone = api.machine("Operator", login=False)
    ids = [_challenge(api, drone.name)["id"] for _ in range(12)]
    with clean_db.connect() as connection:
        kept = set(connection.scalars(select(AuthChallenge.id)))
    assert len(kept) == 8 and kept == set(ids[-8:])  # the oldest were dropped
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    with clean_db.begin() as connection:
        connection.execute(update(AuthChallenge).values(expires_at=past))
    _challenge(api, drone.name)
    with clean_db.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(AuthChallenge)) == 1


def test_a_wrong_key(api) -> None:
    drone = api.machine("Operator", login=False)
    _refused(_verify(api, drone.name, _challenge(api, drone.name), bytes(32)))


def test_another_clients_challenge(api) -> None:
    a = api.machine("Operator", login=False)
    b = api.machine("Operator", login=False)
    a_challenge = _challenge(api, a.name)
    _refused(_verify(api, b.name, a_challenge, b.key))  # answered as B with B's key
    a_challenge = _challenge(api, a.name)
    _refused(_verify(api, b.name, a_challenge, a.key))  # answered as B with A's key
    # Answered as A with A's key, a challenge of B's.
    _refused(_verify(api, a.name, _challenge(api, b.name), a.key))


def test_a_tampered_iv(api) -> None:
    drone = api.machine("Operator", login=False)
    challenge = _challenge(api, drone.name)
    iv = bytearray(base64.b64decode(challenge["cipher_iv"]))
    iv[0] ^= 1
    _refused(_verify(api, drone.name, challenge, drone.key, iv=base64.b64encode(bytes(iv)).decode()))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda good: good[:-4] + "AAA=",  # a flipped last block
        lambda good: good[:24],  # truncated
        lambda good: good + good,  # doubled
        lambda good: "***not base64***",
        lambda good: good[:-1],  # one character short of base64
        lambda good: base64.b64encode(b"x").decode(),  # too short a ciphertext
    ],
    ids=["flipped", "truncated", "doubled", "not-base64", "cut", "short"],
)
def test_a_tampered_or_malformed_answer(api, mangle) -> None:
    drone = api.machine("Operator", login=False)
    challenge = _challenge(api, drone.name)
    good = answer_challenge(drone.key, challenge["text"], challenge["cipher_iv"])
    body = {"client_name": drone.name, "id": challenge["id"], "duration": 60, "encrypted_text": mangle(good)}
    _refused(api.client.post("/auth_verify", json=body))


def test_unknown_ids_and_clients(api) -> None:
    drone = api.machine("Operator", login=False)
    challenge = _challenge(api, drone.name)
    _refused(_verify(api, drone.name, {**challenge, "id": "no-such-challenge"}, drone.key))
    _refused(api.client.post("/auth", json={"client_name": "nobody"}))
    _refused(api.client.post("/auth", json={"client_name": "not a valid name!"}))
    _refused(_verify(api, "nobody", challenge, drone.key))


def test_a_disabled_client_cannot_shake_hands(api) -> None:
    drone = api.machine("Operator", login=False)
    challenge = _challenge(api, drone.name)
    disabled = api.client.put(f"/clients/{drone.name}/enabled", json={"enabled": False}, headers=api.admin)
    assert disabled.status_code == 200
    _refused(_verify(api, drone.name, challenge, drone.key))  # its open challenges went with it
    _refused(api.client.post("/auth", json={"client_name": drone.name}))
    api.client.put(f"/clients/{drone.name}/enabled", json={"enabled": True}, headers=api.admin)
    assert _verify(api, drone.name, _challenge(api, drone.name), drone.key).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth", {}),
        ("/auth", {"client_name": ""}),
        ("/auth", {"client_name": "x" * 300}),
        ("/auth", {"client_name": 7}),
        ("/auth", []),
        ("/auth_verify", {}),
        ("/auth_verify", {"client_name": "a", "id": "b", "duration": 60}),
        ("/auth_verify", {"client_name": "a", "id": "b", "duration": 0, "encrypted_text": "AAAA"}),
        ("/auth_verify", {"client_name": "a", "id": "b", "duration": "long", "encrypted_text": "AAAA"}),
        ("/auth_verify", {"client_name": "a", "id": "b", "duration": "60", "encrypted_text": "AAAA"}),
        ("/auth_verify", {"client_name": "a", "id": "b", "duration": 60.5, "encrypted_text": "AAAA"}),
        ("/auth_verify", {"client_name": "a", "id": "b", "duration": 60, "encrypted_text": ""}),
        ("/auth_verify", {"client_name": "a", "id": "b" * 300, "duration": 60, "encrypted_text": "AAAA"}),
    ],
)
def test_malformed_bodies_are_400(client, path: str, body) -> None:
    assert_error(client.post(path, json=body), 400, "BAD_REQUEST")


def test_failures_are_throttled(make_client) -> None:
    api = Api(make_client(login_max_attempts=3))
    drone = api.machine("Operator", login=False)
    for _ in range(3):
        _refused(_verify(api, drone.name, _challenge(api, drone.name), bytes(32)))
    throttled = assert_error(
        api.client.post("/auth", json={"client_name": drone.name}), 429, "TOO_MANY_ATTEMPTS"
    )
    assert throttled["message"]
    response = api.client.post(
        "/auth_verify", json={"client_name": drone.name, "id": "x", "duration": 60, "encrypted_text": "AAAA"}
    )
    assert_error(response, 429, "TOO_MANY_ATTEMPTS")
    assert int(response.headers["Retry-After"]) >= 1
    # Unknown names count too, so probing for names is throttled as well.
    for _ in range(3):
        _refused(api.client.post("/auth", json={"client_name": "ghost"}))
    assert_error(api.client.post("/auth", json={"client_name": "ghost"}), 429, "TOO_MANY_ATTEMPTS")


def test_a_success_clears_the_count(make_client) -> None:
    api = Api(make_client(login_max_attempts=3))
    drone = api.machine("Operator", login=False)
    for _ in range(2):
        _refused(_verify(api, drone.name, _challenge(api, drone.name), bytes(32)))
    assert _verify(api, drone.name, _challenge(api, drone.name), drone.key).status_code == 200
    for _ in range(2):
        _refused(_verify(api, drone.name, _challenge(api, drone.name), bytes(32)))
    assert _challenge(api, drone.name)


def test_two_answers_racing_for_one_challenge(make_client) -> None:
    """The challenge is consumed atomically: of many concurrent right answers exactly one wins."""
    api = Api(make_client(login_max_attempts=1000))
    drone = api.machine("Operator", login=False)
    context = api.client.app.state.context
    for _ in range(3):
        challenge = _challenge(api, drone.name)
        answer = answer_challenge(drone.key, challenge["text"], challenge["cipher_iv"])
        start = threading.Barrier(6)

        def verify(_: int, challenge=challenge, answer=answer, start=start) -> bool:
            start.wait()
            with context.sessions() as session:
                try:
                    context.handshake.verify(
                        session,
                        name=drone.name,
                        challenge_id=challenge["id"],
                        duration=60,
                        encrypted_text=answer,
                        address=None,
                    )
                except Exception as e:
                    assert getattr(e, "code", None) == "INVALID_CREDENTIALS", repr(e)
                    return False
                return True

        with ThreadPoolExecutor(6) as pool:
            outcomes = list(pool.map(verify, range(6)))
        assert outcomes.count(True) == 1


def test_session_tokens_are_checked_like_a_users(api) -> None:
    drone = api.machine("Operator")
    assert api.client.get("/license/info", headers=drone.headers).status_code == 200
    assert api.client.post("/logout", headers=drone.headers).json() == {"success": True}
    assert_error(api.client.get("/license/info", headers=drone.headers), 401, "UNAUTHORIZED")


def test_an_expired_session_token(api) -> None:
    drone = api.machine("Operator")
    context = api.client.app.state.context
    claims = pyjwt.decode(drone.token, options={"verify_signature": False})
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    expired = context.tokens.sign(
        nameid=claims["nameid"], name=drone.name, role="Operator", ttl=dt.timedelta(hours=1), now=past
    )
    assert_error(
        api.client.get("/license/info", headers={"Authorization": f"Bearer {expired}"}), 401, "UNAUTHORIZED"
    )


def test_tokens_of_deleted_disabled_or_renamed_clients(api, clean_db) -> None:
    from azaion_server.clients.entities import Client

    gone, off, renamed = api.machine("Operator"), api.machine("Operator"), api.machine("Operator")
    assert api.client.delete(f"/clients/{gone.name}", headers=api.admin).status_code == 200
    assert_error(api.client.get("/license/info", headers=gone.headers), 401, "UNAUTHORIZED")
    api.client.put(f"/clients/{off.name}/enabled", json={"enabled": False}, headers=api.admin)
    assert_error(api.client.get("/license/info", headers=off.headers), 401, "UNAUTHORIZED")
    with clean_db.begin() as connection:
        connection.execute(update(Client).where(Client.name == renamed.name).values(name="someone-else"))
    assert_error(api.client.get("/license/info", headers=renamed.headers), 401, "UNAUTHORIZED")
    # A new client never inherits an old one's id, so an old token never names it.
    again = api.machine("Operator", name=gone.name)
    assert (
        pyjwt.decode(again.token, options={"verify_signature": False})["nameid"]
        != pyjwt.decode(gone.token, options={"verify_signature": False})["nameid"]
    )
    assert_error(api.client.get("/license/info", headers=gone.headers), 401, "UNAUTHORIZED")


def test_the_role_applies_like_a_users(api) -> None:
    operator, admin = api.machine("Operator"), api.machine("ApiAdmin")
    assert_error(api.client.get("/users", headers=operator.headers), 403, "FORBIDDEN")
    assert_error(api.client.get("/clients", headers=operator.headers), 403, "FORBIDDEN")
    assert api.client.get("/clients", headers=admin.headers).status_code == 200
    assert_error(api.upload("models", "m.bin", b"x", headers=operator.headers), 403, "FORBIDDEN")


def test_nothing_secret_is_logged(api, no_secrets_logged) -> None:
    drone = api.machine("Operator", login=False)
    challenge = _challenge(api, drone.name)
    answer = answer_challenge(drone.key, challenge["text"], challenge["cipher_iv"])
    _refused(_verify(api, drone.name, challenge, bytes(32)))
    token = api.handshake(drone)
    no_secrets_logged(base64.b64encode(drone.key).decode(), drone.key.hex(), challenge["text"], answer, token)
