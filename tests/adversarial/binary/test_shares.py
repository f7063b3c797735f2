"""The generated key header: shares that recombine to the keys, the right slot per key id, and
no run of the header that is a key. Compiled and run here with the C compiler, as the extension
uses it; no wheel needed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from build_tools import check_wheel
from tests.reference import resource as reference

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def setup_module_():
    spec = importlib.util.spec_from_file_location("azaion_setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # setup() itself runs only as __main__
    return module


PROGRAM = r"""
#include <stdio.h>
#include <stddef.h>
#include "azaion_secrets.h"
int main(int argc, char **argv) {
    unsigned char key[32];
    int ids[] = {IDS};
    for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int slot = azaion_key_slot(ids[i]);
        printf("%d:", slot);
        if (slot >= 0) {
            azaion_wrapping_key_into(slot, key);
            for (int j = 0; j < 32; j++) printf("%02x", key[j]);
            azaion_wipe(key, sizeof key);
        }
        printf("\n");
    }
    unsigned char constant[64];
    azaion_constant_into(0, constant);
    printf("%.*s\n", azaion_constant_len(0), constant);
    return 0;
}
"""


def test_the_test_key_id_is_the_published_one(setup_module_):
    assert bytes.fromhex(setup_module_.TEST_WRAPPING_KEY) == reference.TEST_WRAPPING_KEY
    assert setup_module_.key_id_of(reference.TEST_WRAPPING_KEY) == reference.key_id(
        reference.TEST_WRAPPING_KEY
    )


def test_current_and_previous_keys_recombine_by_key_id(setup_module_, tmp_path):
    if not shutil.which("cc"):
        pytest.fail("a C compiler (cc) is needed: apt-get install gcc")
    while True:
        current, previous = os.urandom(32), os.urandom(32)
        if reference.key_id(current) != reference.key_id(previous):
            break
    header = setup_module_.shares_header([current, previous], [b"AZRS"])
    # No key sits in the header's numbers as a run of bytes, hex, or XOR-ed with one byte.
    numbers = bytes(int(v) & 0xFF for v in re.findall(r"\b\d+\b", header))
    for key in (current, previous):
        assert not [f for f in check_wheel.key_forms(key) if f in numbers or f in header.encode()]
    assert setup_module_.secrets_in_text(header) == [current, previous, b"AZRS"]
    unknown = next(
        i for i in range(1, 256) if i not in (reference.key_id(current), reference.key_id(previous))
    )
    (tmp_path / "azaion_secrets.h").write_text(header)
    ids = f"{reference.key_id(current)}, {reference.key_id(previous)}, {unknown}, 0"
    (tmp_path / "main.c").write_text(PROGRAM.replace("IDS", ids))
    subprocess.run(["cc", "-O2", "-o", tmp_path / "main", tmp_path / "main.c"], cwd=tmp_path, check=True)
    lines = subprocess.run(
        [tmp_path / "main"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert lines == [f"0:{current.hex()}", f"1:{previous.hex()}", "-1:", "-1:", "AZRS"]


def test_two_keys_with_one_key_id_are_refused(setup_module_, tmp_path, monkeypatch):
    first = os.urandom(32)
    second = next(
        k for k in iter(lambda: os.urandom(32), None) if reference.key_id(k) == reference.key_id(first)
    )
    for name, key in (("current", first), ("previous", second)):
        (tmp_path / name).write_text(key.hex())
    monkeypatch.setenv("AZAION_WRAPPING_KEY_FILE", str(tmp_path / "current"))
    monkeypatch.setenv("AZAION_PREVIOUS_WRAPPING_KEY_FILE", str(tmp_path / "previous"))
    with pytest.raises(SystemExit, match="same key id"):
        setup_module_.wrapping_keys()
    monkeypatch.delenv("AZAION_PREVIOUS_WRAPPING_KEY_FILE")
    assert setup_module_.wrapping_keys() == ("deployment", [first])
    monkeypatch.delenv("AZAION_WRAPPING_KEY_FILE")
    assert setup_module_.wrapping_keys() == ("test", [reference.TEST_WRAPPING_KEY])
