"""Names are checked before any network or disk access."""

from __future__ import annotations

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
