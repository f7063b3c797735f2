"""Issue 13's attack, on the real server over plain HTTP: an Operator's password, its hardware
hash and the wrapping key get no plaintext. No v1 envelope is served, and what is served to the
Operator's device opens only with that device's private key."""

from __future__ import annotations

import hashlib

import pytest
import requests
from cryptography.exceptions import InvalidTag

from tests.e2e.conftest import FOLDER
from tests.reference import envelope as v1
from tests.reference import resource as reference
from tests.reference.device import Device


def test_password_hardware_hash_and_wrapping_key_get_no_plaintext(make_account, connect, live):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    model = b"the weights " * 500
    connect(uploader, cache="uploader").upload_big_small_resource(model, "secret.onnx", FOLDER)
    fingerprint = "operator-device-fingerprint"
    device_client = connect(operator, device=fingerprint, cache="operator")
    assert device_client.load_big_small_resource("secret.onnx", FOLDER) == model
    hardware = hashlib.sha256(fingerprint.encode()).hexdigest()  # rebuilt from world-readable files
    http = requests.Session()
    get = f"{live.url}/resources/get/{FOLDER}"
    body = {"fileName": "secret.onnx", "password": operator.password, "hardware": hardware}

    # 1. The seed's flow: password login, password + hardware hash in the body. No envelope.
    token = http.post(
        f"{live.url}/login", json={"email": operator.email, "password": operator.password}
    ).json()["token"]
    answer = http.post(get, json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403 and answer.json()["code"] == "DEVICE_REQUIRED"
    assert "upgrade" in answer.json()["message"]

    # 2. The attacker's own key pair, bound at login with the stolen password: not enrolled, and
    #    the licence has no room for another device.
    attacker = Device()
    login = http.post(
        f"{live.url}/login",
        json={"email": operator.email, "password": operator.password},
        headers={"DPoP": attacker.proof("POST", f"{live.url}/login")},
    )
    bound = login.json()["token"]
    enrol = http.post(
        f"{live.url}/devices",
        json=attacker.enrol_body(hardware),
        headers=attacker.headers("POST", f"{live.url}/devices", bound),
    )
    assert enrol.status_code == 403 and enrol.json()["code"] == "DEVICE_LIMIT"
    answer = http.post(get, json=body, headers=attacker.headers("POST", get, bound))
    assert answer.status_code == 403 and answer.json()["code"] == "DEVICE_NOT_ENROLLED"

    # 3. A sealed answer captured on the wire (plain HTTP) for the real device: the password, the
    #    hardware hash and the wrapping key open nothing, and neither does another device's key.
    [device] = live.devices(operator.id)
    victim = Device()  # stands in for any key that is not the device's own
    victim.id = device["id"]
    captured = _capture_for_the_device(device_client)
    with pytest.raises(InvalidTag):
        victim.open(captured, FOLDER, "secret.onnx")
    keys = v1.user_keys(operator.email, operator.password, hardware)
    with pytest.raises(Exception):  # noqa: B017 - any failure: it is not an envelope at all
        v1.open_(keys, captured)
    assert reference.TEST_WRAPPING_KEY  # the published test key: held by the attacker too
    assert model[:64] not in captured


def _capture_for_the_device(device_client) -> bytes:
    """What the compiled client receives for `secret.onnx`: its request, recorded off the wire."""
    seen: list[bytes] = []
    original = requests.Session.request

    def record(self, method, url, *args, **kwargs):
        response = original(self, method, url, *args, **kwargs)
        if url.endswith(f"/resources/get/{FOLDER}"):
            seen.append(response.content)
        return response

    requests.Session.request = record
    try:
        device_client.load_big_small_resource("secret.onnx", FOLDER)
    finally:
        requests.Session.request = original
    assert seen and seen[0][0] == 0x02
    return seen[0]
