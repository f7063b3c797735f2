"""Check built azaion wheels: what they hold, what their binaries give away, and that they work.

    python build_tools/check_wheel.py [--python PY] [--no-install] [--sources DIR] WHEEL...

For each wheel:

* contents: no Cython or C source (``.pyx``, ``.pxd``, ``.c`` ...) and no ``.py`` of a protected
  module; every compiled module present exactly once; the PyInstaller hook and its
  ``pyinstaller40`` entry point present; RECORD hashes right;
* the protected extension (``azaion._protected``, every protected ``.pyx`` of setup.py's
  ``PROTECTED`` in one module): no embedded signatures, none of the docstrings of their
  ``.pyx`` sources, no names of their ``cdef`` globals, no ``__pyx_capi__`` table, none of
  the format's constants (``masked(b"...")`` literals), looked for both in the raw bytes and in
  Cython's zlib-compressed string table;
* every binary: no wrapping key (the published test key, and the deployment key of
  ``AZAION_WRAPPING_KEY_FILE`` when set) as raw bytes, hex or XOR-ed with any single byte, raw
  or in a zlib stream; no path of the build machine; for ELF files no symbol table or debug
  sections, no exported symbol but ``PyInit_<module>`` (not even Cython's ``__pyx_module_is_main_*``) and
  no RPATH/RUNPATH;
* install: a fresh venv with the wheel and its declared dependencies only, ``pip check``, the
  ``azaion`` command, and tests/packaging/smoke.py (import, docstrings, hidden internals, a
  client against a closed port).

Exit status 0 when every check passes; each failure is printed on its own line.
docs/packaging.md says what a compiled module still reveals after all of this.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "tests" / "packaging" / "smoke.py"


def extension_lists(root: Path = ROOT) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """setup.py's PROTECTED and PUBLIC module lists (read, not imported: setup.py builds)."""
    import ast

    found = {}
    for node in ast.parse((root / "setup.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ("PROTECTED", "PUBLIC"):
                    found[target.id] = tuple(e.value for e in node.value.elts)
    return found["PROTECTED"], found["PUBLIC"]


def test_wrapping_key(root: Path = ROOT) -> bytes:
    """The published test key, from setup.py."""
    text = (root / "setup.py").read_text(encoding="utf-8")
    return bytes.fromhex(re.search(r'TEST_WRAPPING_KEY = "([0-9a-f]{64})"', text).group(1))


PROTECTED, PUBLIC = extension_lists()
PROTECTED_EXTENSION = "_protected"
COMPILED = (PROTECTED_EXTENSION, *PUBLIC)
SOURCE_SUFFIXES = (".pyx", ".pxd", ".pxi", ".c", ".cpp", ".h", ".html")
EXTENSION_SUFFIXES = (".so", ".pyd")
REQUIRED = (
    "azaion/__init__.py",
    "azaion/py.typed",
    # The typed API of the compiled modules (tests/packaging/test_stubs.py keeps them true).
    *(f"azaion/{m}.pyi" for m in (*PROTECTED, *PUBLIC)),
    "azaion/onnx.py",
    "azaion/__pyinstaller/__init__.py",
    "azaion/__pyinstaller/hook-azaion.py",
)
INSTALL_TIMEOUT = 300
HOOK_ENTRY_POINT = "hook-dirs = azaion.__pyinstaller:get_hook_dirs"

# Cython's embedsignature writes "Class.name(self, str arg, ...)" or "Class(str a, b=None)" into
# docs: a parameter list that starts with self/cls or holds a typed parameter. Messages such as
# "call login(email, password) first" or Cython's own "send(arg)" do not match.
_PARAM = rb"(?:\*{1,2}[A-Za-z_]\w*|\*|[A-Za-z_][\w.]*(?: [A-Za-z_]\w*)?(?:=[^,()\n]{1,40})?)"
SIGNATURE = re.compile(
    rb"\b[A-Za-z_][\w.]*\((?:(?:self|cls)(?:, " + _PARAM + rb")*"
    rb"|(?:" + _PARAM + rb", )*[A-Za-z_][\w.]* [A-Za-z_]\w*(?:=[^,()\n]{1,40})?(?:, " + _PARAM + rb")*)\)"
)
MASKED = re.compile(rb'masked\(b"((?:[^"\\]|\\.)*)"\)')
# Where a build machine's paths would show: home and temporary directories, CI workspaces.
BUILD_PATHS = re.compile(
    rb"(?:/home/|/root/|/tmp/|/var/tmp/|/Users/|/work/|/project/|[A-Z]:\\Users\\)[\w.-]+/"
)
MANGLED = re.compile(rb"__pyx_(?:f|pf|pw|pyx|obj|vtab|tp|mdef)_\d*azaion")
ZLIB_HEADERS = re.compile(rb"\x78[\x01\x5e\x9c\xda]")


class Failures(list):
    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.append(message)
        return ok


# -- what a binary shows ---------------------------------------------------------------------


def string_tables(data: bytes) -> list[bytes]:
    """The zlib streams in a binary: Cython >= 3.1 keeps its string constants in one of them."""
    found = []
    for match in ZLIB_HEADERS.finditer(data):
        stream = zlib.decompressobj()
        try:
            out = stream.decompress(data[match.start() : match.start() + (4 << 20)], 16 << 20)
        except zlib.error:
            continue
        if stream.eof and len(out) >= 64:
            found.append(out)
    return found


def readable_text(data: bytes) -> bytes:
    """Everything a reader of the file sees: its raw bytes and its decompressed string tables."""
    return b"\n".join([data, *string_tables(data)])


def elf_facts(data: bytes) -> dict | None:
    """Section names, exported symbols and RPATH/RUNPATH of an ELF file; None if not ELF."""
    if data[:4] != b"\x7fELF":
        return None
    is64, little = data[4] == 2, data[5] == 1
    end = "<" if little else ">"
    if is64:
        (shoff,) = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
        fmt, fields = (
            end + "IIQQQQIIQQ",
            ("name", "type", "flags", "addr", "offset", "size", "link", "info", "align", "entsize"),
        )
    else:
        (shoff,) = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x2E)
        fmt, fields = (
            end + "IIIIIIIIII",
            ("name", "type", "flags", "addr", "offset", "size", "link", "info", "align", "entsize"),
        )
    sections = [dict(zip(fields, struct.unpack_from(fmt, data, shoff + i * shentsize))) for i in range(shnum)]

    def cstr(offset: int) -> str:
        return data[offset : data.index(b"\0", offset)].decode("latin-1")

    names_at = sections[shstrndx]["offset"]
    for s in sections:
        s["label"] = cstr(names_at + s["name"])
    by_label = {s["label"]: s for s in sections}

    exported = []
    dynsym, dynstr = by_label.get(".dynsym"), by_label.get(".dynstr")
    if dynsym and dynstr:
        size = 24 if is64 else 16
        for i in range(1, dynsym["size"] // size):
            at = dynsym["offset"] + i * size
            if is64:
                name, info, _other, shndx = struct.unpack_from(end + "IBBH", data, at)
            else:
                name, _value, _size, info, _other, shndx = struct.unpack_from(end + "IIIBBH", data, at)
            if shndx != 0 and info >> 4 in (1, 2):  # defined, GLOBAL or WEAK
                exported.append(cstr(dynstr["offset"] + name))

    paths = []
    dynamic = by_label.get(".dynamic")
    if dynamic and dynstr:
        size, fmt_dyn = (16, end + "qQ") if is64 else (8, end + "iI")
        for i in range(dynamic["size"] // size):
            tag, value = struct.unpack_from(fmt_dyn, data, dynamic["offset"] + i * size)
            if tag == 0:
                break
            if tag in (15, 29):  # DT_RPATH, DT_RUNPATH
                paths.append(cstr(dynstr["offset"] + value))
    return {"sections": [s["label"] for s in sections], "exported": exported, "rpaths": paths}


def docstrings_of(source: Path) -> list[str]:
    """First lines of the docstrings of a .pyx: module, classes and functions."""
    lines = source.read_text(encoding="utf-8").splitlines()
    found, after_header, i = [], True, 0
    while i < len(lines):
        stripped = lines[i].strip()
        if after_header and stripped and not stripped.startswith("#"):
            match = re.match(r'[rRuU]?("""|\'\'\')(.*)', stripped)
            if match:
                first = match.group(2).split(match.group(1))[0].strip()
                if not first and i + 1 < len(lines):
                    first = lines[i + 1].strip()
                if len(first) >= 12:
                    found.append(first)
            after_header = False
        if re.match(r"\s*(?:async\s+)?(?:c?p?def|cdef\s+class|class)\b", lines[i]):
            while i < len(lines) and not lines[i].rstrip().endswith(":"):
                i += 1
            after_header = True
        i += 1
    return found


def signature_prefixes_of(source: Path) -> list[str]:
    """How embedsignature would begin the doc of each def/cpdef/class of a .pyx: "name(first"."""
    found = []
    pattern = re.compile(
        r"^\s*(?:cpdef|def|cdef\s+class|class)\s+(?:[\w.]+\s+)*?(\w+)\s*\(\s*([\w.]+)(?:\s+(\w+))?",
        re.MULTILINE,
    )
    for name, first, second in pattern.findall(source.read_text(encoding="utf-8")):
        found.append(f"{name}({first} {second}" if second else f"{name}({first}")
        if second:
            found.append(f"{name}({second}")
    return found


def cdef_globals_of(source: Path) -> list[str]:
    """Names of module-level ``cdef`` variables: C globals whose names must not reach the binary."""
    pattern = re.compile(r"^cdef\s+(?:[\w.]+\s+)+([A-Z][A-Z0-9_]{3,})\s*=", re.MULTILINE)
    return pattern.findall(source.read_text(encoding="utf-8"))


def key_forms(key: bytes) -> list[bytes]:
    """A key as it could sit in a binary: its hex (both cases), and its bytes XOR-ed with each
    single byte (0 is the key itself)."""
    return [key.hex().encode(), key.hex().upper().encode()] + [bytes(b ^ k for b in key) for k in range(256)]


def hunted_keys(root: Path = ROOT) -> dict[str, bytes]:
    """The keys no wheel may hold: the published test key, and the deployment key when
    AZAION_WRAPPING_KEY_FILE names one (then the build is a release)."""
    keys = {"the published test key": test_wrapping_key(root)}
    for variable in ("AZAION_WRAPPING_KEY_FILE", "AZAION_PREVIOUS_WRAPPING_KEY_FILE"):
        name = os.environ.get(variable, "").strip()
        if name and Path(name).is_file():
            keys[f"the key of {variable}"] = bytes.fromhex(Path(name).read_text().strip())
    return keys


def check_keys(name: str, text: bytes, keys: dict[str, bytes], failures: Failures) -> None:
    for label, key in keys.items():
        found = [form for form in key_forms(key) if form in text]
        failures.check(not found, f"{name}: {label} is in the binary ({len(found)} forms)")


def qualified_names(text: bytes, module: str) -> list[str]:
    pattern = re.compile(rb"azaion\." + module.encode() + rb"\.[A-Za-z_][\w.]*")
    return sorted({m.decode() for m in pattern.findall(text)})


def protected_sources(sources: Path | None, module: str) -> list[Path]:
    if sources is None:
        return []
    names = PROTECTED if module == PROTECTED_EXTENSION else (module,)
    return [sources / f"{n}.pyx" for n in names if (sources / f"{n}.pyx").is_file()]


def check_elf(where: str, module: str, data: bytes, failures: Failures) -> None:
    """Stripped, nothing exported but the module's init, no RPATH/RUNPATH (ELF only)."""
    elf = elf_facts(data)
    if elf is not None:
        symtab = [s for s in elf["sections"] if s == ".symtab" or s.startswith((".debug", ".zdebug"))]
        failures.check(not symtab, f"{where} not stripped: sections {symtab}")
        extra = [s for s in elf["exported"] if s not in (f"PyInit_{module}", "_init", "_fini")]
        failures.check(not extra, f"{where} exports {extra[:5]} besides PyInit_{module}")
        absolute = [
            p for p in elf["rpaths"] for part in p.split(":") if part and not part.startswith("$ORIGIN")
        ]
        failures.check(not absolute, f"{where} absolute RPATH/RUNPATH {absolute} (the build machine's paths)")
        failures.check(not elf["rpaths"], f"{where} RPATH/RUNPATH {elf['rpaths']}")


def check_binary(
    name: str,
    module: str,
    data: bytes,
    sources: Path | None,
    failures: Failures,
    verbose: bool = False,
    keys: dict[str, bytes] | None = None,
) -> None:
    text = readable_text(data)
    where = f"{name}:"
    check_keys(name, text, hunted_keys() if keys is None else keys, failures)
    failures.check(b"__pyx_capi__" not in text, f"{where} exports a __pyx_capi__ table of C functions")
    paths = sorted({m.group().decode(errors="replace") for m in BUILD_PATHS.finditer(text)})
    failures.check(not paths, f"{where} paths of the build machine: {paths[:3]}")
    for match in SIGNATURE.finditer(text):
        failures.append(f"{where} embedded signature {match.group().decode(errors='replace')!r}")
    for match in MANGLED.finditer(text):
        failures.append(f"{where} mangled C name {match.group().decode()!r} (not stripped?)")
        break
    for source in protected_sources(sources, module):
        for literal in MASKED.findall(source.read_bytes()):
            failures.check(
                literal not in text, f"{where} the masked constant {literal[:20]!r} of {source.name}"
            )
        for line in docstrings_of(source):
            failures.check(line.encode() not in text, f"{where} docstring of {source.name}: {line[:60]!r}")
        for prefix in signature_prefixes_of(source):
            failures.check(
                re.search(re.escape(prefix.encode()) + rb"[,)=]", text) is None,
                f"{where} embedded signature of {source.name}: {prefix!r}...",
            )
        for ident in cdef_globals_of(source):
            failures.check(
                re.search(rb"\b" + ident.encode() + rb"\b", text) is None,
                f"{where} name of the cdef global {ident}",
            )
    check_elf(where, module, data, failures)
    if verbose:
        names = qualified_names(text, module)
        print(
            f"  {name}: {len(data):,} bytes; traceback names still present: {len(names)}"
            + (f" (e.g. {', '.join(names[:4])})" if names else "")
        )


# -- what a wheel holds ----------------------------------------------------------------------


def check_record(wheel: zipfile.ZipFile, record: str, failures: Failures) -> None:
    listed = set()
    for row in wheel.read(record).decode().splitlines():
        path, digest, _size = row.rsplit(",", 2)
        listed.add(path)
        if not digest:
            continue
        algo, _, expected = digest.partition("=")
        actual = base64.urlsafe_b64encode(hashlib.new(algo, wheel.read(path)).digest()).rstrip(b"=").decode()
        failures.check(actual == expected, f"RECORD: wrong hash for {path}")
    missing = [n for n in wheel.namelist() if n not in listed and not n.endswith("/")]
    failures.check(not missing, f"RECORD does not list {missing}")


def check_contents(path: Path, sources: Path | None, failures: Failures, verbose: bool) -> None:
    with zipfile.ZipFile(path) as wheel:
        names = [n for n in wheel.namelist() if not n.endswith("/")]
        dist_info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        if not failures.check(len(dist_info) == 1, f"expected one .dist-info, found {sorted(dist_info)}"):
            return
        dist_info = dist_info.pop()
        for name in names:
            top = name.split("/")[0]
            failures.check(
                top in ("azaion", dist_info) or top.startswith("azaion.libs"),
                f"unexpected top-level entry {name}",
            )
            failures.check(not name.endswith(SOURCE_SUFFIXES), f"source file in wheel: {name}")
        for module in PROTECTED:
            # .pyi stubs ship on purpose: signatures and docstrings of the Python surface only.
            leaked = [n for n in names if re.fullmatch(rf"azaion/{module}\.py[co]?", n)]
            failures.check(not leaked, f"Python source of a protected module: {leaked}")
        for required in REQUIRED:
            failures.check(required in names, f"missing {required}")
        entry_points = f"{dist_info}/entry_points.txt"
        text = wheel.read(entry_points).decode() if entry_points in names else ""
        failures.check(
            "[pyinstaller40]" in text and HOOK_ENTRY_POINT in text.replace('"', ""),
            f"no pyinstaller40 entry point '{HOOK_ENTRY_POINT}' in {entry_points}",
        )
        check_record(wheel, f"{dist_info}/RECORD", failures)
        for module in COMPILED:
            built = [
                n
                for n in names
                if re.fullmatch(rf"azaion/{module}\.[^/]*", n) and n.endswith(EXTENSION_SUFFIXES)
            ]
            if not failures.check(len(built) == 1, f"expected one compiled azaion.{module}, found {built}"):
                continue
            if module == PROTECTED_EXTENSION:
                check_binary(built[0], module, wheel.read(built[0]), sources, failures, verbose)
            else:
                data = wheel.read(built[0])
                check_keys(built[0], readable_text(data), hunted_keys(), failures)
                check_elf(f"{built[0]}:", module, data, failures)
        for module in PROTECTED:
            alone = [
                n
                for n in names
                if re.fullmatch(rf"azaion/{module}\.[^/]*", n) and n.endswith(EXTENSION_SUFFIXES)
            ]
            failures.check(not alone, f"protected module built as an extension of its own: {alone}")


# -- does it work ----------------------------------------------------------------------------


def find_pythons(lowest: tuple[int, int] = (3, 10), highest: tuple[int, int] = (3, 13)) -> dict:
    """CPython interpreters on this machine, one per X.Y: pyenv's versions first, then PATH."""
    candidates = []
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        for entry in sorted(pyenv.iterdir()):
            if re.fullmatch(r"3\.\d+\.\d+", entry.name):
                candidates.append(entry / "bin" / "python3")
    for minor in range(lowest[1], highest[1] + 1):
        found = shutil.which(f"python3.{minor}")
        if found:
            candidates.append(Path(found))
    pythons: dict[tuple[int, int], str] = {}
    probe = (
        "import sys, sysconfig; print(sys.implementation.name, *sys.version_info[:2], "
        "int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))), sys.executable)"
    )
    for candidate in candidates:
        try:
            out = subprocess.run([str(candidate), "-c", probe], capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if out.returncode != 0 or not out.stdout.strip():
            continue
        impl, major, minor, free_threaded, executable = out.stdout.split(maxsplit=4)
        version = (int(major), int(minor))
        if impl == "cpython" and free_threaded == "0" and lowest <= version <= highest:
            pythons.setdefault(version, executable.strip())
    return dict(sorted(pythons.items()))


def python_for(wheel: Path) -> str | None:
    tag = re.search(r"-cp(\d)(\d+)-", wheel.name)
    if not tag:
        return sys.executable
    version = (int(tag.group(1)), int(tag.group(2)))
    if sys.version_info[:2] == version:
        return sys.executable
    return find_pythons(version, version).get(version)


def check_install(wheel: Path, python: str, failures: Failures) -> None:
    """A fresh venv, the wheel and its declared dependencies only, then the smoke test."""
    with tempfile.TemporaryDirectory(prefix="azaion-wheel-") as tmp:
        venv = Path(tmp) / "venv"
        run = subprocess.run([python, "-m", "venv", str(venv)], capture_output=True, text=True)
        if not failures.check(run.returncode == 0, f"venv with {python} failed: {run.stderr.strip()[-500:]}"):
            return
        bindir = venv / ("Scripts" if os.name == "nt" else "bin")
        vpython = str(bindir / "python")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AZAION_", "VIRTUAL_ENV"))}
        steps = [
            (
                "pip install",
                [vpython, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
            ),
            ("pip check", [vpython, "-m", "pip", "check"]),
            ("azaion --help", [str(bindir / "azaion"), "--help"]),
            (
                "smoke test",
                [vpython, "-I", str(SMOKE), "--expect-prefix", str(venv)]
                + (["--expect-key", "deployment"] if len(hunted_keys()) > 1 else []),
            ),
        ]
        for label, command in steps:
            try:
                run = subprocess.run(
                    command, capture_output=True, text=True, cwd=tmp, env=env, timeout=INSTALL_TIMEOUT
                )
            except subprocess.TimeoutExpired:
                # pip backtracks for a very long time over conflicting requirements.
                failures.append(
                    f"{label} in a fresh venv took over {INSTALL_TIMEOUT} s (conflicting dependencies?)"
                )
                return
            if not failures.check(
                run.returncode == 0,
                f"{label} in a fresh venv failed:\n{(run.stdout + run.stderr).strip()[-2000:]}",
            ):
                return
            if label == "smoke test":
                print("  " + run.stdout.strip().replace("\n", "\n  "))


def check_wheel(wheel: Path, python: str | None, install: bool, sources: Path | None, verbose: bool) -> list:
    failures = Failures()
    print(f"{wheel.name} ({wheel.stat().st_size:,} bytes)")
    check_contents(wheel, sources, failures, verbose)
    if install:
        python = python or python_for(wheel)
        if failures.check(
            python is not None, f"no Python on this machine matches {wheel.name}; pass --python"
        ):
            check_install(wheel, python, failures)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheels", nargs="+", type=Path)
    parser.add_argument("--python", help="interpreter for the install check (default: one matching the tag)")
    parser.add_argument(
        "--no-install", action="store_true", help="skip the fresh-venv install and smoke test"
    )
    parser.add_argument(
        "--sources",
        type=Path,
        default=ROOT / "azaion",
        help="the .pyx sources, to look for their docstrings in the binaries (default: %(default)s)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also print what the binaries still name"
    )
    args = parser.parse_args(argv)
    sources = args.sources if args.sources.is_dir() else None
    if sources is None:
        print(f"note: no sources at {args.sources}; docstring and cdef-global checks skipped")
    failed = 0
    for wheel in args.wheels:
        failures = check_wheel(wheel, args.python, not args.no_install, sources, args.verbose)
        for failure in failures:
            print(f"  FAIL {failure}")
        print(f"  {'FAILED' if failures else 'ok'}")
        failed += bool(failures)
    print(f"{len(args.wheels) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
