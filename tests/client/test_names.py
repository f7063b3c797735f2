"""Names are checked before any network or disk access."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import azaion

BAD = [
    "",
    "..",
    ".",
    "../x",
    "..\\x",
    "/etc/passwd",
    "a/b",
    "a\\b",
    "x\x00y",
    "x\ny",
    "CON",
    "nul.txt",
    "com1",
    ".hidden",
    "a" * 256,
    "trailing.",
    " padded",
    "c:evil",
    "%2e%2e%2f",
    "100%",
]


@pytest.mark.parametrize("name", BAD)
def test_bad_resource_names_raise_before_any_request(client, api, tmp_path, name):
    before = sum(api.calls.values())
    with pytest.raises(azaion.InvalidName) as info:
        client.load_big_small_resource(name, "models")
    assert isinstance(info.value, ValueError)
    with pytest.raises(azaion.InvalidName):
        client.upload_big_small_resource(b"x", name, "models")
    with pytest.raises(azaion.InvalidName):
        client.load_big_small_resource("ok.bin", name)
    assert sum(api.calls.values()) == before
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


@pytest.mark.parametrize("name", ["model.onnx", "yolo-v8_x.1.pt", "модель.bin", "a" * 255])
def test_good_names_work(client, api, name):
    client.upload_big_small_resource(b"weights", name, "models")
    assert client.load_big_small_resource(name, "models") == b"weights"


# The shared table: the server's tests (tests/server/test_names.py) run the same cases.
VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "names.json").read_text("utf-8"))
REFUSED = [case["name"] for case in VECTORS["refused"]]


@pytest.mark.parametrize("name", REFUSED, ids=[case["reason"] for case in VECTORS["refused"]])
def test_the_shared_table_refused_names(client, api, name):
    before = sum(api.calls.values())
    for call in (
        lambda: client.load_big_small_resource(name, "models"),
        lambda: client.load_big_small_resource("ok.bin", name),
        lambda: client.upload_big_small_resource(b"x", name, "models"),
    ):
        with pytest.raises(azaion.InvalidName):
            call()
    assert sum(api.calls.values()) == before


@pytest.mark.parametrize("name", VECTORS["accepted"])
def test_the_shared_table_accepted_names(client, api, name):
    client.upload_big_small_resource(b"weights", name, name)
    assert client.load_big_small_resource(name, name) == b"weights"
