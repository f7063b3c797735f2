"""Configured server keys through the compiled client: the vectors' JWKS is accepted, a
malformed one is a ConfigurationError, and a token the keys do not sign is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import azaion
from tests.client.conftest import EMAIL, PASSWORD

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "signing_keys.json").read_text())
JWKS = {"keys": [v["jwk"] for v in VECTORS["keys"]]}


def test_unpinned_client_reads_the_scripted_apis_hs256_token(api, api_url, tmp_path):
    # The scripted API publishes no keys (404): as the seed, the claims are read unverified.
    with azaion.ApiClient(api_url, cache_dir=str(tmp_path / "c")) as client:
        client.set_credentials_from_dict(EMAIL, PASSWORD)
        assert client.user.email == EMAIL
    assert not (tmp_path / "c" / ".state").exists() or not list((tmp_path / "c" / ".state").iterdir())


def test_configured_keys_refuse_a_token_they_did_not_sign(api, api_url, tmp_path):
    with azaion.ApiClient(api_url, cache_dir=str(tmp_path / "c"), jwks=JWKS) as client:
        with pytest.raises(azaion.UntrustedServerKeys) as refused:
            client.set_credentials_from_dict(EMAIL, PASSWORD)
        assert isinstance(refused.value, azaion.InvalidToken) and client.token is None


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": []},
        {"keys": [{**JWKS["keys"][0], "kid": JWKS["keys"][1]["kid"]}]},  # a kid that is not its thumbprint
        {"keys": [{**JWKS["keys"][0], "x": JWKS["keys"][0]["x"][:-2]}]},
        {"nothing": 1},
        [],
    ],
    ids=["empty", "swapped-kid", "short-key", "no-keys", "not-a-set"],
)
def test_a_malformed_configured_jwks_is_a_configuration_error(api, api_url, tmp_path, jwks):
    client = azaion.ApiClient(api_url, cache_dir=str(tmp_path / "c"), jwks=jwks)
    with client, pytest.raises(azaion.ConfigurationError):
        client.set_credentials_from_dict(EMAIL, PASSWORD)
