"""The wheel checker itself: each check bites on a binary that deserves it, and stays quiet otherwise.

The in-place build (make compile) is the material: its public modules keep docstrings and
embedded signatures, so those checks must fire there; it is stripped like a release, so the
symbol checks must fire on an unstripped shared object compiled here, and not on it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import azaion._protected
import azaion.user
from build_tools import check_wheel

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "azaion"


def failures_for(module) -> list[str]:
    path = Path(module.__file__)
    failures = check_wheel.Failures()
    check_wheel.check_binary(path.name, module.__name__.split(".")[-1], path.read_bytes(), SOURCES, failures)
    return failures


def test_the_extension_lists_are_read_from_setup_py():
    protected, public = check_wheel.extension_lists()
    assert {"security", "api_client", "cdn_manager", "hardware_service", "credentials"} <= set(protected)
    assert public == ("constants", "user")
    assert len(check_wheel.test_wrapping_key()) == 32


@pytest.mark.parametrize(
    "text",
    [
        b"ApiClient.load_bytes(self, unicode filename, unicode folder)",
        b"User(str id, str email, role)",
        b"derive(bytes identity, bytes secret, str hardware)",
        b"Credentials.__init__(self)",
        b"open(self, envelope) -> bytes",
    ],
)
def test_signature_pattern_finds_embedded_signatures(text):
    assert check_wheel.SIGNATURE.search(text)


@pytest.mark.parametrize(
    "text",
    [
        b"no credentials: call set_credentials_from_dict(email, password) first",
        b"send(arg) -> send 'arg' into generator",
        b"Cannot transpose memoryview with indirect dimension(s)",
        b"PyObject *(PyObject *, PyObject *)",
        b"%.200s() takes no keyword arguments",
    ],
)
def test_signature_pattern_ignores_messages(text):
    assert not check_wheel.SIGNATURE.search(text)


def test_public_module_built_with_docstrings_is_caught():
    failures = failures_for(azaion.user)
    assert any("embedded signature" in f for f in failures), failures
    assert any("docstring of user.pyx" in f for f in failures), failures


def test_the_protected_extension_passes_every_check():
    # make compile's build: stripped, no key, no capi, no docstring, signature or global name.
    assert failures_for(azaion._protected) == []


def unstripped_object(tmp_path) -> bytes:
    if not shutil.which("cc"):
        pytest.fail("a C compiler (cc) is needed: apt-get install gcc")
    source = tmp_path / "m.c"
    source.write_text(
        "int __pyx_f_6azaion_8security_open_header(int x) { return x + 1; }\n"
        "int PyInit__protected(void) { return __pyx_f_6azaion_8security_open_header(1); }\n"
    )
    out = tmp_path / "m.so"
    subprocess.run(
        ["cc", "-g", "-shared", "-fPIC", "-Wl,-rpath,/opt/build/lib", "-o", out, source], check=True
    )
    return out.read_bytes()


def test_unstripped_binary_is_caught(tmp_path):
    failures = check_wheel.Failures()
    check_wheel.check_binary("m.so", "_protected", unstripped_object(tmp_path), None, failures, keys={})
    assert any("not stripped" in f for f in failures), failures
    assert any("mangled C name" in f for f in failures), failures
    assert any("exports" in f for f in failures), failures
    assert any("RPATH" in f for f in failures), failures


def test_a_key_in_a_binary_is_caught():
    key = check_wheel.test_wrapping_key()
    for blob in (b"x" + key + b"y", key.hex().encode(), bytes(b ^ 0x33 for b in key)):
        failures = check_wheel.Failures()
        check_wheel.check_binary("b.so", "_protected", blob, None, failures)
        assert any("published test key" in f for f in failures), failures


def test_a_capi_table_and_build_paths_are_caught():
    failures = check_wheel.Failures()
    check_wheel.check_binary("b.so", "_protected", b"__pyx_capi__\0/home/builder/src/x.c", None, failures)
    assert any("__pyx_capi__" in f for f in failures)
    assert any("paths of the build machine" in f for f in failures)


def test_compressed_string_table_is_read():
    data = Path(azaion._protected.__file__).read_bytes()
    tables = check_wheel.string_tables(data)
    assert any(b"azaion._protected" in t for t in tables)
    # What the raw bytes hide, the decompressed table shows: see docs/packaging.md.
    assert b"aes_key_wrap" not in data and b"aes_key_wrap" in check_wheel.readable_text(data)


def test_elf_facts_of_an_extension():
    facts = check_wheel.elf_facts(Path(azaion._protected.__file__).read_bytes())
    if facts is None:
        pytest.skip("not an ELF platform")
    assert "PyInit__protected" in facts["exported"]
    assert ".text" in facts["sections"]
    assert ".symtab" not in facts["sections"] and facts["rpaths"] == []


def test_docstrings_and_globals_are_read_from_sources(tmp_path):
    source = tmp_path / "m.pyx"
    source.write_text(
        "# cython: language_level=3\n"
        '"""Module docstring of enough length."""\n'
        'cdef bytes SECRET_THING = b"x"\n'
        "cdef class Box:\n"
        '    """A box that holds things."""\n'
        "    cpdef int put(self, str item,\n"
        "                  int count=1):\n"
        '        """\n'
        "        Put an item into the box.\n"
        '        """\n'
        "        return 0\n"
    )
    assert check_wheel.docstrings_of(source) == [
        "Module docstring of enough length.",
        "A box that holds things.",
        "Put an item into the box.",
    ]
    assert check_wheel.cdef_globals_of(source) == ["SECRET_THING"]
    assert "put(self" in check_wheel.signature_prefixes_of(source)
