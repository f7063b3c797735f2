"""Folder and file name rules (docs/protocol.md, INVALID_NAME)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azaion_server.errors import InvalidName
from azaion_server.names import check_name, check_upload_folder, is_valid_name

VALID = [
    "models",
    "yolo-v8.onnx",
    "a",
    "x" * 255,
    "файл.bin",
    "name with spaces",
    "con-fig",
    "COM10",
    "v1.0.bin",
    "a.b c",
]
INVALID = [
    "",
    ".",
    "..",
    ".hidden",
    "a/b",
    "a\\b",
    "/abs",
    "nul\0byte",
    "tab\tname",
    "del\x7f",
    "x" * 256,
    "CON",
    "con",
    "nul.txt",
    "LPT1",
    "com3.bin",
    "AUX ",
    "trailing.",
    "trailing ",
    " leading",
    "c:evil",
    "stream:$DATA",
    "%2e%2e%2f",
    "100%",
    "a%20b",
    "COM1.tar.gz",
]


@pytest.mark.parametrize("name", VALID)
def test_valid(name: str) -> None:
    assert is_valid_name(name)
    assert check_name(name) == name


@pytest.mark.parametrize("name", INVALID)
def test_invalid(name: str) -> None:
    assert not is_valid_name(name)
    with pytest.raises(InvalidName):
        check_name(name)


@pytest.mark.parametrize("folder", ["system", "System", "SYSTEM"])
def test_system_folder_is_reserved_for_uploads(folder: str) -> None:
    with pytest.raises(InvalidName, match="reserved"):
        check_upload_folder(folder)
    assert check_upload_folder("models") == "models"


# The shared table: the client's tests (tests/client/test_names.py) run the same cases.
VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "names.json").read_text("utf-8"))


@pytest.mark.parametrize("name", VECTORS["accepted"])
def test_the_shared_table_accepted_names(name: str) -> None:
    assert is_valid_name(name)
    assert check_name(name) == name


@pytest.mark.parametrize("case", VECTORS["refused"], ids=[case["reason"] for case in VECTORS["refused"]])
def test_the_shared_table_refused_names(case: dict) -> None:
    assert not is_valid_name(case["name"])
    with pytest.raises(InvalidName):
        check_name(case["name"])
