"""The server's reading of release statements against the vectors (docs/formats.md §6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azaion_server.publishers import statements
from azaion_server.publishers.exceptions import InvalidStatement

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "release.json").read_text())[
    "vectors"
]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['algorithm']}-v{v['version_number']}")
def test_the_vectors_verify(vector) -> None:
    key, algorithm, key_id = statements.load_public_key(vector["public_key"])
    assert (algorithm, key_id) == (vector["algorithm"], vector["key_id"])
    raw = vector["bundle"].encode()
    assert statements.signer_key_id(raw) == key_id
    release = statements.verify(raw, key)
    assert (release.folder, release.name, release.version_number) == (
        vector["folder"],
        vector["name"],
        vector["version_number"],
    )
    assert release.size == len(bytes.fromhex(vector["plaintext"]))
    other = [v for v in VECTORS if v["key_id"] != key_id][0]
    with pytest.raises(InvalidStatement):
        statements.verify(raw, statements.load_public_key(other["public_key"])[0])
    for broken in (raw[:-5], raw.replace(b'"payloadType":"application', b'"payloadType":"text'), b"[]"):
        with pytest.raises(InvalidStatement):
            statements.verify(broken, key)


@pytest.mark.parametrize("payload", ["missing", None, 7])
def test_a_statement_without_a_payload_string_is_invalid_not_a_crash(payload) -> None:
    vector = VECTORS[0]
    key = statements.load_public_key(vector["public_key"])[0]
    bundle = json.loads(vector["bundle"])
    if payload == "missing":
        del bundle["dsseEnvelope"]["payload"]
    else:
        bundle["dsseEnvelope"]["payload"] = payload
    with pytest.raises(InvalidStatement):
        statements.verify(json.dumps(bundle).encode(), key)
