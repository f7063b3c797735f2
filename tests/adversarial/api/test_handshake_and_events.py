"""The machine-client handshake and the event stream, attacked over real HTTP."""

from __future__ import annotations

import base64
import os
import threading
import time

import pytest
import requests
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

FOLDER = "models"


def answer(key_b64: str, challenge: dict) -> str:
    key = base64.b64decode(key_b64)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(challenge["text"].encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(base64.b64decode(challenge["cipher_iv"]))).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


@pytest.fixture
def machine(live):
    name = f"rig-{os.urandom(3).hex()}"
    return name, live.create_client(name, "Operator")


def challenge_for(live, name: str) -> dict:
    got = live.http.post(f"{live.url}/auth", json={"client_name": name}, timeout=10)
    assert got.status_code == 200 and got.json()["success"] is True, got.text
    return got.json()["challenge"]


def verify(live, name: str, challenge: dict, encrypted: str) -> requests.Response:
    return live.http.post(
        f"{live.url}/auth_verify",
        json={"client_name": name, "id": challenge["id"], "duration": 600, "encrypted_text": encrypted},
        timeout=10,
    )


def test_the_handshake_as_the_seed_describes_it(live, machine):
    name, key = machine
    challenge = challenge_for(live, name)
    assert challenge["cipher"] == "AES-256-CBC" and challenge["duration"] > 0
    done = verify(live, name, challenge, answer(key, challenge))
    assert done.status_code == 200, done.text
    session = done.json()["session"]
    assert session["duration"] <= 600
    info = live.http.get(
        f"{live.url}/license/info", headers={"Authorization": f"Bearer {session['token']}"}, timeout=10
    )
    assert info.status_code == 200


def test_failures_are_uniform(live, machine):
    name, key = machine
    other_name, other_key = f"rig-{os.urandom(3).hex()}", None
    other_key = live.create_client(other_name, "Operator")
    answers = []
    # a used challenge, replayed
    used = challenge_for(live, name)
    assert verify(live, name, used, answer(key, used)).status_code == 200
    answers.append(verify(live, name, used, answer(key, used)))
    # a wrong key
    fresh = challenge_for(live, name)
    answers.append(verify(live, name, fresh, answer(base64.b64encode(os.urandom(32)).decode(), fresh)))
    # A's challenge answered as B, with B's key
    a_challenge = challenge_for(live, name)
    answers.append(verify(live, other_name, a_challenge, answer(other_key, a_challenge)))
    # a tampered IV (the answer encrypted under another IV)
    tampered = challenge_for(live, name)
    answers.append(
        verify(
            live,
            name,
            tampered,
            answer(key, {**tampered, "cipher_iv": base64.b64encode(os.urandom(16)).decode()}),
        )
    )
    # garbage ciphertext, and an unknown client
    garbage = challenge_for(live, name)
    answers.append(verify(live, name, garbage, base64.b64encode(os.urandom(48)).decode()))
    answers.append(verify(live, "no-such-client", garbage, answer(key, garbage)))
    assert {a.status_code for a in answers} == {401}
    assert len({a.text for a in answers}) == 1
    assert answers[0].json()["success"] is False


def test_malformed_bodies_are_400_not_500(live, machine):
    name, _ = machine
    challenge = challenge_for(live, name)
    for encrypted in ("not base64!!", "", "QUJD"):
        assert verify(live, name, challenge, encrypted).status_code in (400, 401)
    for body in (
        {},
        {"client_name": 5},
        {"client_name": name, "id": None, "duration": "long", "encrypted_text": 3},
    ):
        assert live.http.post(f"{live.url}/auth_verify", json=body, timeout=10).status_code == 400
    for body in ({}, {"client_name": 5}, [], {"client_name": "x" * 10_000}):
        assert live.http.post(f"{live.url}/auth", json=body, timeout=10).status_code in (400, 401)


def token(live, account) -> str:
    return live.login(account.email, account.password)


def test_events_need_a_token(live):
    answer_ = live.http.get(f"{live.url}/events", timeout=10)
    assert answer_.status_code == 401


def read_events(live, bearer: str, stop: threading.Event, out: list, last_id: int = 0) -> None:
    with requests.get(
        f"{live.url}/events",
        headers={"Authorization": f"Bearer {bearer}", "Last-Event-ID": str(last_id)},
        stream=True,
        timeout=(5, 30),
    ) as stream:
        for line in stream.iter_lines(decode_unicode=True):
            out.append(line)
            if stop.is_set():
                return


def test_an_operator_sees_only_what_it_may_read(live, make_account, connect):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    draft, public = f"draft-{os.urandom(3).hex()}.bin", f"public-{os.urandom(3).hex()}.bin"
    stop, lines = threading.Event(), []
    reader = threading.Thread(
        target=read_events, args=(live, token(live, operator), stop, lines), daemon=True
    )
    reader.start()
    time.sleep(0.5)
    up = connect(uploader, cache="up")
    up.upload_big_small_resource(b"secret", draft, FOLDER, None, None, True)
    up.upload_big_small_resource(b"public", public, FOLDER)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(public in line for line in lines):
        time.sleep(0.1)
    stop.set()
    assert any(public in line for line in lines)
    assert not any(draft in line for line in lines)


def test_concurrent_streams_per_user_are_capped(live, make_account):
    account = make_account("Operator")
    bearer = token(live, account)
    opened, refused = [], None
    try:
        for _ in range(20):
            stream = requests.get(
                f"{live.url}/events",
                headers={"Authorization": f"Bearer {bearer}"},
                stream=True,
                timeout=(5, 30),
            )
            if stream.status_code != 200:
                refused = stream
                break
            opened.append(stream)
        assert refused is not None and refused.status_code == 429
        assert 1 <= len(opened) < 20
    finally:
        for stream in opened:
            stream.close()


def test_a_revoked_token_ends_the_stream(live, make_account):
    account = make_account("Operator")
    bearer = token(live, account)
    stop, lines = threading.Event(), []
    reader = threading.Thread(target=read_events, args=(live, bearer, stop, lines), daemon=True)
    reader.start()
    time.sleep(0.5)
    live.http.post(f"{live.url}/logout", headers={"Authorization": f"Bearer {bearer}"}, timeout=10)
    reader.join(timeout=float(live.env.get("AZAION_SSE_PING_SECONDS", "15")) * 3 + 5)
    assert not reader.is_alive(), "the stream outlived its revoked token"
