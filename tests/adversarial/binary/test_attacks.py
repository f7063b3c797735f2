"""The issue's attack scripts against the installed release wheel, and what they now get: nothing.

Each script ran against the old build and extracted something: the wrapping key from the zlib
string table in milliseconds, callable C functions from the ``__pyx_capi__`` and
``__pyx_vtable__`` capsules, a password from a fixed offset of a ``Credentials`` object. Each runs
here in a subprocess against the release wheel installed on its own (tests/release_build.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.slow,
    # The first test of the session waits for the one release wheel (minutes on a busy machine).
    pytest.mark.timeout(1800),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the release wheel is built on Linux"),
]

PROTECTED = ("security", "credentials", "hardware_service", "cdn_manager", "api_client")


@pytest.fixture(scope="module")
def release(release_build):
    assert release_build.returncode == 0, release_build.output[-10000:]
    return release_build


def run_attack(release, tmp_path, code: str) -> dict:
    out = release.python(code, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


ZLIB_SCAN = r"""
import json, re, zlib, glob, os, sys
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
import azaion
here = os.path.dirname(azaion.__file__)
header = bytes.fromhex(sys.argv[1]) if len(sys.argv) > 1 else None
candidates = set()
for path in glob.glob(os.path.join(here, "*.so")):
    data = open(path, "rb").read()
    for m in re.finditer(rb"\x78[\x01\x5e\x9c\xda]", data):
        d = zlib.decompressobj()
        try:
            out = d.decompress(data[m.start():m.start() + (4 << 20)])
        except zlib.error:
            continue
        candidates |= set(re.findall(rb"[0-9a-fA-F]{64}", out))
        # every 32-byte window of the string table, as raw bytes
        candidates |= {out[i:i + 32] for i in range(0, max(0, len(out) - 31))}
found = [c.hex() for c in candidates if c in (KEY, KEY.hex().encode())]
print(json.dumps({"candidates": len(candidates), "found": found}))
"""


def test_zlib_scan_of_the_string_table_finds_no_key(release, tmp_path):
    code = f"KEY = bytes.fromhex({release.key.hex()!r})\n" + ZLIB_SCAN
    result = run_attack(release, tmp_path, code)
    assert result["candidates"] > 1000  # the scan did read the string tables
    assert result["found"] == []


CAPSULES = r"""
import ctypes, json, importlib
import azaion, azaion._protected
found = []
for name in ["_protected"] + MODULES:
    module = importlib.import_module("azaion." + name)
    if hasattr(module, "__pyx_capi__"):
        found += [f"{name}.__pyx_capi__.{k}" for k in module.__pyx_capi__]
    for attr, value in vars(module).items():
        if isinstance(value, type) and "__pyx_vtable__" in vars(value):
            capsule = vars(value)["__pyx_vtable__"]
            get = ctypes.pythonapi.PyCapsule_GetPointer
            get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
            found.append(f"{name}.{attr}.__pyx_vtable__ at {get(capsule, None):#x}")
print(json.dumps({"found": found, "classes": sorted(vars(azaion.security))}))
"""


def test_no_capsule_hands_out_a_protected_function(release, tmp_path):
    result = run_attack(release, tmp_path, f"MODULES = {list(PROTECTED)!r}\n" + CAPSULES)
    assert result["found"] == []
    assert {"EnvelopeKeys", "ResourceDecryptor", "ResourceEncryptor"} <= set(result["classes"])


PASSWORD_AT_OFFSET = r"""
import ctypes, json
import azaion
PASSWORD = "attack-me: the password at a fixed offset"
creds = azaion.Credentials("op@example.com", PASSWORD)
size = type(creds).__basicsize__
raw = ctypes.string_at(id(creds), size)
hits = []
needle = PASSWORD.encode()
# every pointer-sized field: as a Python object (a str?) and as memory that could hold the text
for offset in range(16, size - 7, 8):
    pointer = int.from_bytes(raw[offset:offset + 8], "little")
    if pointer < 1 << 16 or pointer % 8:
        continue
    try:
        memory = ctypes.string_at(pointer, 256)
    except Exception:
        continue
    if needle in memory:
        hits.append(offset)
print(json.dumps({"hits": hits, "in_object": needle in raw, "size": size}))
"""


def test_a_credentials_object_gives_up_no_password(release, tmp_path):
    result = run_attack(release, tmp_path, PASSWORD_AT_OFFSET)
    assert result["size"] >= 48  # the object was read
    assert result == {"hits": [], "in_object": False, "size": result["size"]}


def test_no_symbol_table_debug_information_or_runpath(release):
    if not (shutil.which("nm") and shutil.which("readelf")):
        pytest.fail("nm and readelf (binutils) are needed: apt-get install binutils")
    modules = sorted((release.site / "azaion").glob("*.so"))
    assert {m.name.split(".")[0] for m in modules} == {"_protected", "constants", "user"}
    for module in modules:
        sections = subprocess.run(["readelf", "-S", "-W", module], capture_output=True, text=True).stdout
        assert ".symtab" not in sections and ".debug" not in sections, module.name
        dynamic = subprocess.run(["readelf", "-d", module], capture_output=True, text=True).stdout
        assert "RPATH" not in dynamic and "RUNPATH" not in dynamic, module.name
        symbols = subprocess.run(["nm", module], capture_output=True, text=True)
        assert "no symbols" in symbols.stderr, module.name
        exported = subprocess.run(
            ["nm", "-D", "--defined-only", module], capture_output=True, text=True
        ).stdout
        names = {line.split()[-1] for line in exported.splitlines() if line.strip()}
        assert names <= {f"PyInit_{module.name.split('.')[0]}", "_init", "_fini"}, (module.name, names)
        data = module.read_bytes()
        assert str(release.outdir).encode() not in data and b"/work/" not in data
