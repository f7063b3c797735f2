"""The wheel checker itself: each check bites on a binary that deserves it, and stays quiet otherwise.

The in-place build (make compile) is the material: its public modules keep docstrings and
embedded signatures, and nothing in it is stripped, so the checks must fire there.
"""

from __future__ import annotations

from pathlib import Path

import azaion.security
import azaion.user
import pytest

from build_tools import check_wheel

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "azaion"


def failures_for(module) -> list[str]:
    path = Path(module.__file__)
    failures = check_wheel.Failures()
    check_wheel.check_binary(path.name, module.__name__.split(".")[-1], path.read_bytes(), SOURCES, failures)
    return failures


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


def test_protected_module_has_no_docstring_signature_or_global_name():
    failures = failures_for(azaion.security)
    about_text = [f for f in failures if "signature" in f or "docstring" in f or "cdef global" in f]
    assert about_text == []


def test_unstripped_in_place_build_is_caught():
    failures = failures_for(azaion.security)
    assert any("not stripped" in f for f in failures), failures
    assert any("mangled C name" in f for f in failures), failures


def test_compressed_string_table_is_read():
    data = Path(azaion.security.__file__).read_bytes()
    tables = check_wheel.string_tables(data)
    assert any(b"azaion.security" in t for t in tables)
    # What the raw bytes hide, the decompressed table shows: see docs/packaging.md.
    assert b"aes_key_wrap" not in data and b"aes_key_wrap" in check_wheel.readable_text(data)


def test_elf_facts_of_an_extension():
    facts = check_wheel.elf_facts(Path(azaion.security.__file__).read_bytes())
    if facts is None:
        pytest.skip("not an ELF platform")
    assert "PyInit_security" in facts["exported"]
    assert ".text" in facts["sections"]


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
