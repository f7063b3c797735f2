"""Devices end to end through the app: enrolment, DPoP on every request, sealed small parts,
the licence's `max_devices`, approval, revocation, and the v1 envelope off by default."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.exceptions import InvalidTag

from tests.reference.device import Device
from tests.server.helpers import HW1, HW2, Api, Person, assert_error, bearer

BASE = "http://testserver"
FOLDER = "models"
NAME = "detector.onnx"
SMALL = b"AZRS\x01\x01\xb1\x00\x10\x00" + bytes(range(16)) * 8  # header-shaped: salt at offset 10


@pytest.fixture
def api(make_client: Any) -> Api:
    """The app with its default enrolment policy and the v1 envelope off."""
    return Api(make_client(legacy_envelope=False))


def login(api: Api, person: Person, device: Device) -> str:
    """A token bound to `device`'s signing key."""
    headers = {"DPoP": device.proof("POST", f"{BASE}/login")}
    response = api.client.post(
        "/login", json={"email": person.email, "password": person.password}, headers=headers
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def enrol(api: Api, token: str, device: Device, hardware: str = HW1) -> Any:
    """`POST /devices` from `device`."""
    response = api.client.post(
        "/devices", json=device.enrol_body(hardware), headers=device.headers("POST", f"{BASE}/devices", token)
    )
    if response.status_code in (200, 201):
        device.id = response.json()["id"]
    return response


def get(api: Api, token: str, device: Device, name: str = NAME, folder: str = FOLDER) -> Any:
    """`POST /resources/get/{folder}` from `device`, without a password."""
    url = f"{BASE}/resources/get/{folder}"
    return api.client.post(
        f"/resources/get/{folder}",
        json={"fileName": name, "hardware": HW1},
        headers=device.headers("POST", url, token),
    )


@pytest.fixture
def operator(api: Api) -> Person:
    """An Operator licensed for FOLDER, with one resource there."""
    assert api.upload(FOLDER, NAME, SMALL).status_code == 201
    person = api.user("Operator")
    api.set_license(person, [FOLDER])
    return person


def test_the_v1_envelope_is_off_by_default_and_says_to_upgrade(
    make_settings: Any, api: Api, operator: Person
) -> None:
    settings = make_settings()
    from azaion_server.settings import Settings

    assert Settings.load(jwt_secret="s" * 40, client_key_secret="k" * 40).resources.legacy_envelope is False
    assert settings.resources.legacy_envelope is True  # the seed's suite
    body = assert_error(api.get(operator, FOLDER, NAME), 403, "DEVICE_REQUIRED")
    assert "upgrade" in body["message"]


def test_an_enrolled_device_gets_the_small_part_sealed_to_it(api: Api, operator: Person) -> None:
    device = Device()
    token = login(api, operator, device)
    assert jwt.decode(token, options={"verify_signature": False})["cnf"] == {"jkt": device.jkt}
    response = enrol(api, token, device)
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "active" and response.json()["jkt"] == device.jkt
    assert enrol(api, token, device).status_code == 200  # again: the same device
    answer = get(api, token, device)
    assert answer.status_code == 200, answer.text
    sealed = answer.content
    assert SMALL not in sealed
    assert sealed[2 : 2 + sealed[1]] == bytes(range(16)).hex().encode()  # the version id
    assert device.open(sealed, FOLDER, NAME) == SMALL
    # Another device's key, another name, another version or another device id: nothing opens.
    other = Device()
    other.id = device.id
    with pytest.raises(InvalidTag):
        other.open(sealed, FOLDER, NAME)
    with pytest.raises(InvalidTag):
        device.open(sealed, FOLDER, "other.onnx")
    tampered = bytearray(sealed)
    tampered[3] ^= 1
    with pytest.raises(InvalidTag):
        device.open(bytes(tampered), FOLDER, NAME)
    device.id = (device.id or 0) + 1
    with pytest.raises(InvalidTag):
        device.open(sealed, FOLDER, NAME)


def test_cdn_yaml_is_sealed_to_the_device(make_client: Any, s3_endpoint: Any, s3_bucket: str) -> None:
    api = Api(
        make_client(
            legacy_envelope=False, s3_endpoint=s3_endpoint.url, s3_bucket=s3_bucket, s3_downloader_key="dk"
        )
    )
    operator = api.user("Operator")
    device = Device()
    token = login(api, operator, device)
    enrol(api, token, device)
    answer = get(api, token, device, name="cdn.yaml", folder="system")
    assert answer.status_code == 200, answer.text
    document = device.open(answer.content, "system", "cdn.yaml")
    assert s3_endpoint.url.encode() in document and b"dk" in document


def test_bad_proofs_are_refused_with_one_code(api: Api, operator: Person) -> None:
    device = Device()
    token = login(api, operator, device)
    enrol(api, token, device)
    url = f"{BASE}/resources/get/{FOLDER}"
    body = {"fileName": NAME, "hardware": HW1}

    def post(headers: dict[str, str]) -> Any:
        return api.client.post(f"/resources/get/{FOLDER}", json=body, headers=headers)

    auth = {"Authorization": f"DPoP {token}"}
    assert_error(post(auth), 401, "INVALID_DPOP_PROOF")  # no proof
    assert_error(post(bearer(token)), 401, "INVALID_DPOP_PROOF")  # the Bearer scheme, no proof
    assert_error(post({**auth, "DPoP": device.proof("GET", url, token)}), 401, "INVALID_DPOP_PROOF")
    assert_error(
        post({**auth, "DPoP": device.proof("POST", f"{BASE}/resources", token)}), 401, "INVALID_DPOP_PROOF"
    )
    assert_error(
        post({**auth, "DPoP": device.proof("POST", url, "another token")}), 401, "INVALID_DPOP_PROOF"
    )
    assert_error(post({**auth, "DPoP": device.proof("POST", url)}), 401, "INVALID_DPOP_PROOF")  # no ath
    assert_error(post({**auth, "DPoP": Device().proof("POST", url, token)}), 401, "INVALID_DPOP_PROOF")
    stale = device.proof("POST", url, token, iat=time.time() - 120)
    assert_error(post({**auth, "DPoP": stale}), 401, "INVALID_DPOP_PROOF")
    future = device.proof("POST", url, token, iat=time.time() + 120)
    assert_error(post({**auth, "DPoP": future}), 401, "INVALID_DPOP_PROOF")
    assert_error(post({**auth, "DPoP": "not.a.jws"}), 401, "INVALID_DPOP_PROOF")
    proof = device.proof("POST", url, token)
    assert post({**auth, "DPoP": proof}).status_code == 200
    assert_error(post({**auth, "DPoP": proof}), 401, "INVALID_DPOP_PROOF")  # replayed
    # The same proof logic guards every route, not only downloads.
    assert_error(api.client.get("/resources", headers=auth), 401, "INVALID_DPOP_PROOF")
    assert (
        api.client.get("/resources", headers=device.headers("GET", f"{BASE}/resources", token)).status_code
        == 200
    )


def test_a_proof_with_a_private_key_or_another_algorithm_is_refused(api: Api, operator: Person) -> None:
    device = Device()
    token = login(api, operator, device)
    enrol(api, token, device)
    url = f"{BASE}/resources"
    claims = {"htm": "GET", "htu": url, "iat": int(time.time()), "jti": "x1"}
    hs = jwt.encode(
        claims, "k" * 32, algorithm="HS256", headers={"typ": "dpop+jwt", "jwk": device.signing_jwk}
    )
    auth = {"Authorization": f"DPoP {token}"}
    assert_error(api.client.get("/resources", headers={**auth, "DPoP": hs}), 401, "INVALID_DPOP_PROOF")
    untyped = jwt.encode(claims, device.signing, algorithm="ES256", headers={"jwk": device.signing_jwk})
    assert_error(api.client.get("/resources", headers={**auth, "DPoP": untyped}), 401, "INVALID_DPOP_PROOF")


def test_a_bad_proof_at_login_is_refused(api: Api, operator: Person) -> None:
    device = Device()
    body = {"email": operator.email, "password": operator.password}
    wrong = {"DPoP": device.proof("POST", f"{BASE}/logout")}
    assert_error(api.client.post("/login", json=body, headers=wrong), 401, "INVALID_DPOP_PROOF")


def test_a_device_cannot_enrol_a_key_it_does_not_prove(api: Api, operator: Person) -> None:
    device, other = Device(), Device()
    token = login(api, operator, device)
    body = other.enrol_body(HW1)
    response = api.client.post(
        "/devices", json=body, headers=device.headers("POST", f"{BASE}/devices", token)
    )
    assert_error(response, 400, "BAD_REQUEST")
    unbound = api.client.post("/devices", json=device.enrol_body(), headers=operator.headers)
    assert_error(unbound, 400, "BAD_REQUEST")
    bad = device.enrol_body()
    bad["sealing_key"] = {**bad["sealing_key"], "x": "AAAA"}
    response = api.client.post("/devices", json=bad, headers=device.headers("POST", f"{BASE}/devices", token))
    assert response.status_code == 422 or response.status_code == 400


def test_a_second_device_is_refused_while_the_licence_allows_one(api: Api, operator: Person) -> None:
    first, second = Device(), Device()
    assert enrol(api, login(api, operator, first), first, HW1).status_code == 201
    token = login(api, operator, second)  # the same password, a copied fingerprint
    assert_error(enrol(api, token, second, HW1), 403, "DEVICE_LIMIT")
    assert_error(get(api, token, second), 403, "DEVICE_NOT_ENROLLED")
    response = api.client.put(
        f"/users/{operator.id}/license",
        json={"plan": "pro", "expires_at": "2999-01-01T00:00:00Z", "folders": [FOLDER], "max_devices": 2},
        headers=api.admin,
    )
    assert response.status_code == 200 and response.json()["max_devices"] == 2
    assert enrol(api, token, second, HW2).status_code == 201
    assert get(api, token, second).status_code == 200


def test_under_approval_a_device_waits_for_an_api_admin(make_client: Any) -> None:
    api = Api(make_client(legacy_envelope=False, device_enrolment="approval"))
    assert api.upload(FOLDER, NAME, SMALL).status_code == 201
    operator = api.user("Operator")
    api.set_license(operator, [FOLDER])
    first, second = Device(), Device()
    token = login(api, operator, first)
    assert enrol(api, token, first).json()["state"] == "pending"
    assert_error(get(api, token, first), 403, "DEVICE_PENDING")
    listed = api.client.get("/devices/all", params={"user_id": operator.id}, headers=api.admin).json()
    assert [d["id"] for d in listed["results"]] == [first.id] and listed["results"][0]["hardware"] == HW1
    assert api.client.post(f"/devices/{first.id}/approve", headers=operator.headers).status_code == 403
    assert api.client.post(f"/devices/{first.id}/approve", headers=api.admin).json()["state"] == "active"
    assert get(api, token, first).status_code == 200
    token2 = login(api, operator, second)
    assert enrol(api, token2, second, HW2).json()["state"] == "pending"
    assert_error(api.client.post(f"/devices/{second.id}/approve", headers=api.admin), 403, "DEVICE_LIMIT")
    assert api.client.post(f"/devices/{first.id}/revoke", headers=api.admin).json()["state"] == "revoked"
    assert api.client.post(f"/devices/{second.id}/approve", headers=api.admin).json()["state"] == "active"
    assert get(api, token2, second).status_code == 200


def test_a_revoked_device_is_refused_on_its_next_request(api: Api, operator: Person) -> None:
    device = Device()
    token = login(api, operator, device)
    enrol(api, token, device)
    assert get(api, token, device).status_code == 200
    mine = api.client.get("/devices", headers=device.headers("GET", f"{BASE}/devices", token)).json()
    assert [d["id"] for d in mine["results"]] == [device.id]
    revoked = api.client.post(
        f"/devices/{device.id}/revoke",
        headers=device.headers("POST", f"{BASE}/devices/{device.id}/revoke", token),
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert_error(get(api, token, device), 401, "DEVICE_REVOKED")
    assert_error(
        api.client.get("/resources", headers=device.headers("GET", f"{BASE}/resources", token)),
        401,
        "DEVICE_REVOKED",
    )
    fresh = login(api, operator, device)  # a new login does not bring it back
    assert_error(get(api, fresh, device), 401, "DEVICE_REVOKED")


def test_a_machine_client_enrols_and_gets_sealed_parts(api: Api) -> None:
    assert api.upload(FOLDER, NAME, SMALL).status_code == 201
    machine = api.machine("Operator", login=False)
    api.set_client_license(machine, [FOLDER])
    device = Device()
    from tests.server.helpers import answer_challenge

    c = api.client.post("/auth", json={"client_name": machine.name}).json()["challenge"]
    body = {
        "client_name": machine.name,
        "id": c["id"],
        "duration": 600,
        "encrypted_text": answer_challenge(machine.key, c["text"], c["cipher_iv"]),
    }
    response = api.client.post(
        "/auth_verify", json=body, headers={"DPoP": device.proof("POST", f"{BASE}/auth_verify")}
    )
    token = response.json()["session"]["token"]
    assert enrol(api, token, device).status_code == 201
    answer = get(api, token, device)
    assert answer.status_code == 200 and device.open(answer.content, FOLDER, NAME) == SMALL


def test_a_sealing_key_off_the_curve_is_refused_at_enrolment(api: Api, operator: Person) -> None:
    # 32-byte coordinates that are no point of P-256: refused now, not a 500 at every download.
    device = Device()
    token = login(api, operator, device)
    bad = device.enrol_body(HW1)
    bad["sealing_key"] = {**bad["sealing_key"], "y": bad["sealing_key"]["x"]}
    response = api.client.post("/devices", json=bad, headers=device.headers("POST", f"{BASE}/devices", token))
    assert_error(response, 400, "BAD_REQUEST")
