"""The sealing and proof formats against vectors: RFC 9180's own (A.3.1) for the reference HPKE,
then the reference against `cryptography`'s suite and the server for azaion's AES-256-GCM suite,
and the published DPoP proof (tests/vectors/device.json, docs/formats.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azaion_server.devices import sealing
from azaion_server.jwt import dpop
from cryptography.hazmat.primitives.asymmetric import ec

from tests.reference import device, hpke, make_vectors

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "device.json").read_text())


def test_the_vectors_file_is_what_the_reference_makes() -> None:
    assert make_vectors.render()["device.json"] == json.dumps(VECTORS, indent=1) + "\n"


def test_the_reference_reproduces_rfc_9180_a_3_1() -> None:
    v = VECTORS["rfc9180"]
    sk_r, sk_e = hpke.private_key(v["skRm"]), hpke.private_key(v["skEm"])
    assert hpke.point(sk_r.public_key()).hex() == v["pkRm"]
    assert hpke.point(sk_e.public_key()).hex() == v["enc"]
    enc = bytes.fromhex(v["enc"])
    dh = sk_r.exchange(ec.ECDH(), sk_e.public_key())
    shared = hpke.kem_shared_secret(dh, enc, bytes.fromhex(v["pkRm"]))
    assert shared.hex() == v["shared_secret"]
    key, nonce = hpke.key_schedule(shared, bytes.fromhex(v["info"]), 16)
    assert (key.hex(), nonce.hex()) == (v["key"], v["base_nonce"])
    info, aad, pt = bytes.fromhex(v["info"]), bytes.fromhex(v["aad"]), bytes.fromhex(v["pt"])
    sealed = hpke.seal(sk_r.public_key(), sk_e, pt, info, aad, key_length=16)
    assert sealed == enc + bytes.fromhex(v["ct"])
    assert hpke.open_(sk_r, sealed, info, aad, key_length=16) == pt


def test_cryptography_and_the_server_agree_with_the_reference_for_aes_256() -> None:
    v = VECTORS["sealed_small_part"]
    sk_r = hpke.private_key(v["skR"])
    answer = bytes.fromhex(v["answer"])
    info = device.sealed_info(v["folder"], v["name"], v["version"], v["device_id"])
    assert info.hex() == v["info"]
    assert info == sealing.info(
        folder=v["folder"], name=v["name"], version=v["version"], device_id=v["device_id"]
    )
    body = answer[2 + answer[1] :]
    assert sealing.SUITE.decrypt(body, sk_r, info=info).hex() == v["plaintext"]
    # The server seals, the reference opens; and what cryptography seals the reference opens too.
    jwk = device.jwk_of(sk_r.public_key())
    plaintext = bytes.fromhex(v["plaintext"])
    sealed = sealing.seal(
        jwk, plaintext, folder=v["folder"], name=v["name"], version=v["version"], device_id=7
    )
    assert sealed[: 2 + len(v["version"])] == answer[: 2 + len(v["version"])]
    assert hpke.open_(sk_r, sealed[2 + sealed[1] :], info) == plaintext
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(Exception):  # noqa: B017 - InvalidTag from AESGCM
        hpke.open_(other, sealed[2 + sealed[1] :], info)


def test_the_published_proof_is_accepted_at_its_time_and_not_after() -> None:
    v = VECTORS["dpop_proof"]
    jwk = v["jwk"]
    assert dpop.thumbprint(jwk) == device.thumbprint(jwk) == v["jkt"]
    claims = v["claims"]
    request = dpop.ProofRequest(method=claims["htm"], url=claims["htu"], proof=v["proof"])
    jkt, jti, iat = dpop.verify_proof(request, token=v["access_token"], skew_seconds=60, now=claims["iat"])
    assert (jkt, jti, iat) == (v["jkt"], claims["jti"], claims["iat"])
    with pytest.raises(dpop.InvalidProof):
        dpop.verify_proof(request, token=v["access_token"], skew_seconds=60, now=claims["iat"] + 61)
    with pytest.raises(dpop.InvalidProof):
        dpop.verify_proof(request, token="another", skew_seconds=60, now=claims["iat"])
    moved = dpop.ProofRequest(method="GET", url=claims["htu"], proof=v["proof"])
    with pytest.raises(dpop.InvalidProof):
        dpop.verify_proof(moved, token=v["access_token"], skew_seconds=60, now=claims["iat"])
