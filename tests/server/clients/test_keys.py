"""Client keys at rest, and the machine client's envelope against the shared vector."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from azaion_server.clients.entities import Client
from azaion_server.clients.keys import KeyVault, SealedKeyError
from azaion_server.resources.models import envelope_keys
from sqlalchemy import update

from tests.server.helpers import Api, answer_challenge

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "envelope.json").read_text())[
    "vectors"
]
MACHINE = next(v for v in VECTORS if v["kind"] == "client")


def test_seal_and_open() -> None:
    vault = KeyVault("s" * 40)
    key = os.urandom(32)
    sealed = vault.seal("drone-07", key)
    assert key not in sealed and len(sealed) == 61
    assert vault.open("drone-07", sealed) == key
    assert vault.seal("drone-07", key) != sealed  # a fresh nonce each time
    assert "s" * 40 not in repr(vault)


@pytest.mark.parametrize(
    "change",
    [
        lambda vault, sealed: KeyVault("t" * 40).open("drone-07", sealed),  # another server secret
        lambda vault, sealed: vault.open("drone-08", sealed),  # copied onto another client's row
        lambda vault, sealed: vault.open("drone-07", sealed[:-1] + bytes([sealed[-1] ^ 1])),
        lambda vault, sealed: vault.open("drone-07", sealed[:-1]),
        lambda vault, sealed: vault.open("drone-07", b"\x02" + sealed[1:]),
    ],
    ids=["other-secret", "other-name", "flipped", "short", "version"],
)
def test_a_sealed_key_opens_only_where_it_belongs(change) -> None:
    vault = KeyVault("s" * 40)
    sealed = vault.seal("drone-07", os.urandom(32))
    with pytest.raises(SealedKeyError):
        change(vault, sealed)


def test_the_database_alone_completes_no_handshake(make_client) -> None:
    """The same database under another AZAION_CLIENT_KEY_SECRET: the stored key does not open."""
    api = Api(make_client())
    drone = api.machine("Operator", login=False)
    other = make_client(client_key_secret="a-different-client-key-secret-" + "z" * 20)
    challenge = other.post("/auth", json={"client_name": drone.name}).json()["challenge"]
    body = {
        "client_name": drone.name,
        "id": challenge["id"],
        "duration": 60,
        "encrypted_text": answer_challenge(drone.key, challenge["text"], challenge["cipher_iv"]),
    }
    response = other.post("/auth_verify", json=body)
    assert response.status_code == 401 and response.json()["code"] == "INVALID_CREDENTIALS"


def test_machine_envelope_keys_match_the_vector(api, clean_db) -> None:
    """The server's keys for the vector's client name, raw key and hardware, byte for byte."""
    drone = api.machine("Operator", name=MACHINE["identity"])
    context = api.client.app.state.context
    secret = bytes.fromhex(MACHINE["secret_hex"])
    with clean_db.begin() as connection:
        connection.execute(
            update(Client)
            .where(Client.name == drone.name)
            .values(sealed_key=context.key_vault.seal(drone.name, secret))
        )
    with context.sessions() as session:
        client = session.query(Client).filter_by(name=drone.name).one()
        keys = envelope_keys(
            session,
            client,
            cache=context.envelope_keys,
            check=context.password_check,
            vault=context.key_vault,
            password=None,
            hardware=MACHINE["hardware"],
            token_expires_at=0,
            address=None,
        )
    assert keys.enc_key.hex() == MACHINE["enc_key"]
    assert keys.mac_key.hex() == MACHINE["mac_key"]


def test_a_key_that_no_longer_opens_is_500_and_logged(api, clean_db, caplog) -> None:
    drone = api.machine("Operator")
    api.set_client_license(drone, ["models"])
    api.upload("models", "m.bin", b"x")
    with clean_db.begin() as connection:
        connection.execute(
            update(Client).where(Client.name == drone.name).values(sealed_key=b"\x01" + bytes(60))
        )
    response = api.machine_get(drone, "models", "m.bin")
    assert response.status_code == 500 and response.json()["code"] == "INTERNAL"
    assert "AZAION_CLIENT_KEY_SECRET" in caplog.text
