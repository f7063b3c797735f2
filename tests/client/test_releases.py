"""The release statement of the client (azaion/releases.py) against the vectors and the attacks."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

import azaion
from azaion import releases

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "release.json").read_text())[
    "vectors"
]


def _trust(vector, folders=("models",)):
    return azaion.TrustedPublishers.from_document(
        {"publishers": [{"name": "vision", "public_key": vector["public_key"], "folders": list(folders)}]}
    )


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['algorithm']}-v{v['version_number']}")
def test_the_vectors_are_reproduced_and_verify(vector) -> None:
    data = bytes.fromhex(vector["plaintext"])
    key = releases.load_signing_key(vector["private_key"].encode())
    payload = releases.statement_payload(
        folder=vector["folder"],
        name=vector["name"],
        version_number=vector["version_number"],
        data=data,
        signed_at=vector["signed_at"],
    )
    assert payload.decode() == vector["payload"]
    assert releases.key_id(key) == vector["key_id"]
    if vector["algorithm"] == "ed25519":  # deterministic: the same bytes
        assert releases.sign_payload(key, payload).decode() == vector["bundle"]
    release = _trust(vector).verify(vector["bundle"].encode(), vector["folder"], vector["name"], data)
    assert (release.version_number, release.size, release.publisher, release.key_id) == (
        vector["version_number"],
        len(data),
        "vision",
        vector["key_id"],
    )
    # What this client signs (ECDSA with random nonces) verifies too.
    fresh = releases.sign_release(key, folder="models", name="detector.onnx", version_number=3, data=data)
    assert _trust(vector).verify(fresh, "models", "detector.onnx", data).version_number == 3


def _edit(bundle: str, change) -> bytes:
    document = json.loads(bundle)
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize("vector", VECTORS[1::2], ids=lambda v: v["algorithm"])
def test_each_attack_has_its_own_error(vector) -> None:
    data = bytes.fromhex(vector["plaintext"])
    trust, bundle = _trust(vector), vector["bundle"]

    def payload_edit(doc):
        statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
        statement["predicate"]["azaion_release"]["version_number"] += 1
        doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()

    cases = [
        (_edit(bundle, payload_edit), "models", "detector.onnx", data, azaion.SignatureError),
        (bundle.encode()[:-20], "models", "detector.onnx", data, azaion.SignatureError),
        (b"not json", "models", "detector.onnx", data, azaion.SignatureError),
        (bundle.encode(), "models", "other.onnx", data, azaion.StatementMismatch),
        (bundle.encode(), "models", "detector.onnx", data + b"x", azaion.DigestMismatch),
        (None, "models", "detector.onnx", data, azaion.SignatureRequired),
    ]
    for statement, folder, name, served, error in cases:
        with pytest.raises(error) as caught:
            trust.verify(statement, folder, name, served)
        assert type(caught.value) is error
    with pytest.raises(azaion.PublisherNotAllowed):
        _trust(vector, folders=("elsewhere", "models2")).verify(
            bundle.encode(), "models", "detector.onnx", data
        )
    stranger = [v for v in VECTORS if v["key_id"] != vector["key_id"]][0]
    with pytest.raises(azaion.UntrustedPublisher):
        _trust(stranger).verify(bundle.encode(), "models", "detector.onnx", data)
    # A folder no trusted publisher signs for accepts unsigned resources, unless listed.
    assert trust.verify(None, "public", "x", b"") is None
    listed = azaion.TrustedPublishers.from_document({"publishers": [], "signed_folders": ["public"]})
    with pytest.raises(azaion.SignatureRequired):
        listed.verify(None, "public", "x", b"")


def test_rollback_state() -> None:
    def release(version, sha="a" * 64):
        return releases.Release("models", "m", version, 1, sha, "t", "p", "k")

    state = releases.check_rollback(b"", release(2))
    assert releases.check_rollback(state, release(2)) is None  # the same release again
    assert (
        json.loads(releases.check_rollback(state, release(3)))["highest"]["models/m"]["version_number"] == 3
    )
    with pytest.raises(azaion.RollbackError, match="older than version 2"):
        releases.check_rollback(state, release(1))
    with pytest.raises(azaion.RollbackError, match="other bytes"):
        releases.check_rollback(state, release(2, "b" * 64))
    with pytest.raises(azaion.RollbackError, match="damaged"):
        releases.check_rollback(b"{not json", release(5))


@pytest.mark.parametrize("vector", VECTORS[:1], ids=["pem-text"])
def test_pem_text_is_a_key_not_a_path_and_never_lands_in_a_message(vector) -> None:
    pem = vector["private_key"]
    assert releases.load_signing_key(pem).public_key() is not None
    broken = pem.replace(pem.splitlines()[1], "A" * len(pem.splitlines()[1]))
    with pytest.raises(azaion.ConfigurationError) as caught:
        releases.load_signing_key(broken)
    assert pem.splitlines()[2] not in str(caught.value) and "AAAA" not in str(caught.value)


def test_bad_keys_and_trust_files(tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    with pytest.raises(azaion.ConfigurationError, match="P-256 or Ed25519"):
        releases.load_signing_key(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(azaion.ConfigurationError, match="cannot read"):
        releases.load_signing_key(tmp_path / "missing.pem")
    with pytest.raises(azaion.ConfigurationError, match="unencrypted PEM"):
        releases.load_signing_key(b"junk")
    (tmp_path / "trust.json").write_text("[")
    with pytest.raises(azaion.ConfigurationError, match="not JSON"):
        azaion.TrustedPublishers.from_file(tmp_path / "trust.json")
    with pytest.raises(azaion.ConfigurationError):
        azaion.ApiClient("http://127.0.0.1:9", trusted_publishers=str(tmp_path / "nothing.json"))
