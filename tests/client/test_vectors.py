"""docs/formats.md, byte for byte: the reference reproduces the vectors, the client reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import azaion
from tests.client.conftest import cdn_yaml_for
from tests.reference import envelope, make_vectors, resource

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
ENVELOPES = json.loads((VECTORS / "envelope.json").read_text())["vectors"]
RESOURCES = json.loads((VECTORS / "resource.json").read_text())


def test_reference_reproduces_the_vector_files():
    for filename, text in make_vectors.render().items():
        assert (VECTORS / filename).read_text() == text, f"{filename} is out of date"


@pytest.mark.parametrize("vector", ENVELOPES, ids=[v["label"] for v in ENVELOPES])
def test_reference_opens_envelope_vectors(vector):
    keys = (bytes.fromhex(vector["enc_key"]), bytes.fromhex(vector["mac_key"]))
    assert envelope.open_(keys, bytes.fromhex(vector["envelope"])) == bytes.fromhex(vector["plaintext"])


def test_client_opens_the_cdn_yaml_envelope_vector(api, api_url, monkeypatch):
    vector = next(v for v in ENVELOPES if v["label"] == "user, cdn.yaml")
    monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", vector["fingerprint"])
    api.add_user(vector["identity"], vector["secret"], "Operator")
    api.override_small[("system", "cdn.yaml")] = bytes.fromhex(vector["envelope"])
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict(vector["identity"], vector["secret"])
        assert c.cdn_manager.creds.host == "http://cdn.example.com:9000"
        assert c.cdn_manager.creds.bucket == "models-bucket"
        assert c.cdn_manager.creds.region == "eu-central-1"
    sent = [body for route, body in api.bodies if route == "get"][-1]
    assert sent["hardware"] == vector["hardware"]


@pytest.mark.parametrize("vector", RESOURCES["vectors"], ids=[v["label"] for v in RESOURCES["vectors"]])
def test_client_decrypts_resource_vectors(client, api, tmp_path, vector):
    ciphertext = bytes.fromhex(vector["ciphertext"])
    small, big = ciphertext[: vector["small_len"]], ciphertext[vector["small_len"] :]
    assert (small, big) == resource.split(ciphertext, RESOURCES["small_size_kb"])
    api.resources[(vector["folder"], vector["name"])] = small
    api.s3.client().put_object(Bucket=api.bucket, Key=api.big_key(vector["folder"], vector["name"]), Body=big)
    plaintext = client.load_big_small_resource(vector["name"], vector["folder"])
    assert plaintext == bytes.fromhex(vector["plaintext"])
    # The same bytes under another name must not open: folder and name are bound.
    api.resources[(vector["folder"], "renamed.bin")] = small
    api.s3.client().put_object(Bucket=api.bucket, Key=api.big_key(vector["folder"], "renamed.bin"), Body=big)
    with pytest.raises(azaion.IntegrityError):
        client.load_big_small_resource("renamed.bin", vector["folder"])


def test_cdn_yaml_helper_matches_protocol(s3_endpoint):
    text = cdn_yaml_for(s3_endpoint, "b").decode()
    for key in (
        "host",
        "bucket",
        "region",
        "downloader_access_key",
        "downloader_access_secret",
        "uploader_access_key",
        "uploader_access_secret",
    ):
        assert f"{key}:" in text
