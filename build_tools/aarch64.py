"""aarch64 without an ARM machine: cross-built wheels and an emulated device (QEMU user mode).

    python build_tools/aarch64.py wheel [--python 3.11 ...] [--outdir DIR]
    python build_tools/aarch64.py run 3.11 -- SCRIPT ARGS...

* **The device.** Debian's own arm64 CPython (bookworm 3.11, trixie 3.13; bullseye's 3.9 is
  below requires-python), its
  ``.deb`` files fetched with ``apt-get download`` through a private apt configuration under
  build/aarch64/apt/ (the machine's sources and architectures stay as they are) and unpacked with
  ``dpkg -x`` into build/aarch64/cp3X/root; ``qemu-aarch64-static -L ROOT`` runs it. Debian
  has no arm64 packages of 3.10 or 3.12, so those wheels are neither built nor run here.
* **The wheel.** setup.py's own Cython output (``cythonized_extensions``, the same C and the
  same key shares as an x86-64 build from the same tree) cross-compiled with zig (PyPI's
  ``ziglang``) for ``aarch64-linux-gnu.2.17`` against that CPython's headers, stripped, with
  hidden visibility; the pure-Python files and metadata come from setuptools (``build_py``,
  ``dist_info``), and ``wheel pack`` writes the RECORD. The tag is ``manylinux_2_17_aarch64``
  (``manylinux2014_aarch64``): zig links against glibc 2.17's symbols, and ``auditwheel show``
  checks the claim.
* **Dependencies on the device** come from pip's aarch64 wheels (``pip install --target
  --platform manylinux2014_aarch64 --only-binary=:all:``), cached under build/aarch64/.

A release (``make wheel``) sets ``AZAION_RELEASE=1`` and the deployment key's file, exactly as
for the x86-64 wheels; a test build (``make test-aarch64``) uses the published test key, as
``make compile`` does. Nothing here installs a Debian package: qemu-user-static comes from the
Makefile's DEBIAN_PACKAGES.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = ROOT / "build" / "aarch64"
# CPython on Debian arm64: the release that has each version (3.10 and 3.12 none has).
# No 3.9 (bullseye): below requires-python (docs/packaging.md, supported platforms).
SUITES = {"3.11": "bookworm", "3.13": "trixie"}
# The glibc of each release: the device takes dependencies' wheels up to it (onnxruntime's
# aarch64 wheels are manylinux_2_28 since 1.17).
GLIBC = {"bookworm": 36, "trixie": 41}
TARGET = "aarch64-linux-gnu.2.17"
PLATFORM_TAGS = ("manylinux_2_17_aarch64", "manylinux2014_aarch64")
# Packages a recursive Depends: pulls in that running Python does not need (tools, -dev files).
NOT_NEEDED = re.compile(
    r"^(dpkg|tar|perl.*|libperl.*|install-info|debconf.*|libc6-dev|libc-dev-bin|linux-libc-dev|"
    r"rpcsvc-proto|lib\w*-dev|libgdbm-compat4|mailcap|media-types|mime-support|readline-common|"
    r"gcc-\d+-base|tzdata|netbase|usr-is-merged|base-files)$"
)
QEMU = "qemu-aarch64-static"
# Beside Python's own: what the dependencies' wheels link against (onnxruntime: libstdc++).
DEVICE_LIBRARIES = ["libstdc++6"]


def log(message: str) -> None:
    print(message, flush=True)


def run(command, **kw) -> subprocess.CompletedProcess:
    """Run a command; on failure print the end of its output and stop."""
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kw)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"failed ({result.returncode}): {' '.join(str(c) for c in command)}")
    return result


def tag(version: str) -> str:
    return "cp" + version.replace(".", "")


# -- the device: Debian's arm64 CPython -------------------------------------------------------


def apt_options(suite: str) -> list[str]:
    """apt-get/apt-cache options for a private arm64 view of one Debian release."""
    base = CACHE / "apt" / suite
    for sub in ("lists/partial", "cache/archives/partial", "preferences.d"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    sources = base / "sources.list"
    sources.write_text(
        "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        f"http://deb.debian.org/debian {suite} main\n"
    )
    status = base / "status"
    if not status.exists():
        status.write_text("")
    return [
        f"-oDir::Etc::SourceList={sources}",
        "-oDir::Etc::SourceParts=/nonexistent",
        "-oDir::Etc::Preferences=/nonexistent",
        f"-oDir::Etc::PreferencesParts={base / 'preferences.d'}",
        f"-oDir::State::Lists={base / 'lists'}",
        f"-oDir::State::Status={status}",
        f"-oDir::Cache={base / 'cache'}",
        "-oAPT::Architecture=arm64",
        "-oAPT::Architectures::=arm64",
        "-oDebug::NoLocking=1",
    ]


def device_root(version: str) -> Path:
    """build/aarch64/cp3X/root: Debian's arm64 CPython X unpacked, made once and kept."""
    if version not in SUITES:
        raise SystemExit(f"no Debian arm64 CPython {version}: have {', '.join(SUITES)}")
    home = CACHE / tag(version)
    root = home / "root"
    done = home / ".unpacked"
    wanted = [f"python{version}-minimal", f"libpython{version}-stdlib", f"libpython{version}-dev"]
    wanted += DEVICE_LIBRARIES
    ready = done.exists() and (root / "usr" / "bin" / f"python{version}").exists()
    if ready and json.loads(done.read_text()).get("wanted") == wanted:
        if not (home / ".bytecode").exists():  # a root unpacked before the bytecode was compiled
            compile_bytecode(root / "usr" / "lib" / f"python{version}", version)
            (home / ".bytecode").write_text("")
        return root
    suite = SUITES[version]
    options = apt_options(suite)
    log(f"  Debian {suite} arm64: python{version} (apt-get download, dpkg -x)")
    run(["apt-get", *options, "-qq", "update"])
    depends = run(
        ["apt-cache", *options, "depends", "--recurse", "--no-recommends", "--no-suggests"]
        + ["--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *wanted]
    ).stdout
    names = sorted(
        {line.strip() for line in depends.splitlines() if line and not line.startswith((" ", "<"))}
    )
    names = [n for n in names if not NOT_NEEDED.match(n) or n.startswith(f"libpython{version}")]
    debs = home / "debs"
    shutil.rmtree(debs, ignore_errors=True)
    debs.mkdir(parents=True)
    run(["apt-get", *options, "-qq", "download", *names], cwd=debs)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for deb in sorted(debs.glob("*.deb")):
        run(["dpkg", "-x", deb, root])
    # Debian splits lib into usr/lib; merged-/usr releases ship only usr/lib: the loader's path.
    for link, target in (("lib", "usr/lib"), ("lib64", "usr/lib64")):
        if not (root / link).exists() and (root / target).exists():
            (root / link).symlink_to(target)
    shutil.rmtree(debs)
    compile_bytecode(root / "usr" / "lib" / f"python{version}", version)
    (home / ".bytecode").write_text("")
    done.write_text(json.dumps({"suite": suite, "wanted": wanted, "packages": names}))
    return root


def compile_bytecode(folder: Path, version: str) -> None:
    """The .pyc files of ``folder`` for CPython ``version``, compiled natively when possible.

    Debian compiles its Python's bytecode in a postinst script, which ``dpkg -x`` does not run,
    and pip --target compiles with the interpreter running it (this venv's), whose .pyc another
    X.Y ignores: without this the emulated device compiles every module it imports at every run
    (a 3.13 smoke test took 104 s, 3.11's 7 s). Bytecode depends on X.Y only, not on the
    machine, so this machine's CPython X.Y writes it; without one the device just runs slower.
    """
    from check_wheel import find_pythons

    minor = int(version.split(".")[1])
    python = find_pythons((3, minor), (3, minor)).get((3, minor))
    if python is None:
        log(f"  no CPython {version} here to compile {folder.name}'s bytecode: the device compiles it")
        return
    # A file that this CPython cannot compile (a test fixture, another version's syntax) stays
    # source only: compileall's status says so, and that is not an error here.
    subprocess.run([python, "-m", "compileall", "-q", "-j0", str(folder)], capture_output=True, check=False)


def qemu() -> str:
    found = shutil.which(QEMU)
    if found is None:
        raise SystemExit(f"{QEMU} is missing: make packages (Debian's qemu-user-static)")
    return found


def device_command(version: str, args, pythonpath=()) -> tuple[list[str], dict]:
    """The command line and environment that run the device's python with ``args``."""
    root = device_root(version)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["QEMU_LD_PREFIX"] = str(root)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    return [qemu(), "-L", str(root), str(root / "usr" / "bin" / f"python{version}"), *map(str, args)], env


def device_packages(version: str, requirements: list[str], constraints: list[str] = ()) -> Path:
    """A folder of aarch64 wheels' contents for ``requirements``, kept while they stay the same.

    Wheels for glibc up to the device release's (``GLIBC``), as pip on that device would take.
    """
    key = hashlib.sha256(json.dumps([3, version, requirements, list(constraints)]).encode()).hexdigest()[:12]
    target = CACHE / tag(version) / f"site-{key}"
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    platforms = [PLATFORM_TAGS[1]] + [
        f"manylinux_2_{minor}_aarch64" for minor in range(17, GLIBC[SUITES[version]] + 1)
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as file:
        file.write("\n".join(constraints) + "\n")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", target]
    pip += [f"--platform={p}" for p in platforms]
    # pip reads --python-version 3.X as 3.X.0: a Requires-Python that excludes 3.X.0 hides the
    # package (cryptography's excludes 3.9.0 and 3.9.1, so "3.9" found none, though it has a
    # cp39-abi3 wheel for 3.9.2+).
    pip += ["--python-version", version, "--implementation", "cp", "--only-binary=:all:", "-c", file.name]
    try:
        run([*pip, *requirements])
        # pip evaluates the dependencies' markers for the interpreter running it, not for
        # --python-version (PyJWT needs typing_extensions on 3.9 and 3.10, not on 3.11): add
        # what the device's markers want until nothing is missing.
        for _ in range(5):
            missing = missing_requirements(target, version)
            if not missing:
                break
            run([*pip, "--upgrade", *missing])
        else:
            raise SystemExit(f"dependencies for CPython {version} still missing: {missing}")
    finally:
        os.unlink(file.name)
    compile_bytecode(target, version)
    (target / ".complete").write_text("")
    return target


def missing_requirements(target: Path, version: str) -> list[str]:
    """Requires-Dist of the packages in ``target`` that the device's CPython needs and lacks."""
    from packaging.markers import InvalidMarker
    from packaging.metadata import Metadata
    from packaging.utils import canonicalize_name

    device = {
        "python_version": version,
        "python_full_version": f"{version}.0",
        "platform_machine": "aarch64",
        "platform_system": "Linux",
        "sys_platform": "linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }
    installed, wanted = set(), {}
    for info in target.glob("*.dist-info"):
        metadata = Metadata.from_email((info / "METADATA").read_bytes(), validate=False)
        installed.add(canonicalize_name(metadata.name))
        for requirement in metadata.requires_dist or []:
            try:
                applies = requirement.marker is None or requirement.marker.evaluate(device)
            except InvalidMarker:
                applies = False
            if applies:
                wanted.setdefault(canonicalize_name(requirement.name), str(requirement).split(";")[0].strip())
    return sorted(spec for name, spec in wanted.items() if name not in installed)


def install_wheel(version: str, wheel: Path, target: Path) -> Path:
    """pip's install of the aarch64 wheel alone (its dependencies come from device_packages)."""
    shutil.rmtree(target, ignore_errors=True)
    run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps"]
        + ["--target", target, "--platform", PLATFORM_TAGS[1], "--python-version", version]
        + ["--implementation", "cp", "--only-binary=:all:", wheel]
    )
    compile_bytecode(target, version)
    return target


# -- the wheel: cross-compiled Cython output ---------------------------------------------------


def headers(version: str) -> Path:
    """An include folder with only the device CPython's headers (zig brings glibc's own)."""
    root = device_root(version)
    include = CACHE / tag(version) / "include"
    if not (include / f"python{version}" / "Python.h").exists():
        shutil.rmtree(include, ignore_errors=True)
        shutil.copytree(root / "usr" / "include" / f"python{version}", include / f"python{version}")
        shutil.copytree(
            root / "usr" / "include" / "aarch64-linux-gnu" / f"python{version}",
            include / "aarch64-linux-gnu" / f"python{version}",
        )
    return include


def zig() -> list[str]:
    if importlib.util.find_spec("ziglang") is None:
        raise SystemExit("ziglang is missing: make venv (requirements-dev.txt)")
    return [sys.executable, "-m", "ziglang", "cc"]


def generate_c(source: Path, release: bool) -> list[dict]:
    """Run setup.py's ``cythonized_extensions`` in ``source``: [{name, sources, include_dirs}]."""
    code = (
        "import json, sys, setup\n"
        "exts = setup.cythonized_extensions(stripped=True)\n"
        "print(json.dumps([{'name': e.name, 'sources': e.sources, 'include_dirs': e.include_dirs,"
        " 'macros': e.define_macros} for e in exts]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.pop("AZAION_RELEASE", None)
    if release:
        env["AZAION_RELEASE"] = "1"
    out = run([sys.executable, "-c", code], cwd=source, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def cross_compile(source: Path, extensions: list[dict], version: str, out: Path) -> list[Path]:
    """Each extension as an aarch64 shared object under ``out``/azaion/."""
    include = headers(version)
    env = dict(os.environ)
    env.setdefault("ZIG_GLOBAL_CACHE_DIR", str(CACHE / "zig-cache"))
    env.setdefault("ZIG_LOCAL_CACHE_DIR", str(CACHE / "zig-cache"))
    suffix = f".cpython-{version.replace('.', '')}-aarch64-linux-gnu.so"
    built = []
    for ext in extensions:
        target = out / (ext["name"].replace(".", "/") + suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        command = [
            *zig(),
            "-target",
            TARGET,
            "-shared",
            "-fPIC",
            "-O2",
            "-DNDEBUG",
            "-fwrapv",
            "-fno-strict-aliasing",
            "-fvisibility=hidden",
            "-g0",
            "-s",
            f"-ffile-prefix-map={source}=.",
            f"-I{include / f'python{version}'}",
            f"-I{include}",
            *(f"-I{source / d}" for d in ext["include_dirs"]),
            *(f"-D{name}={value}" if value is not None else f"-D{name}" for name, value in ext["macros"]),
            *(str(source / s) for s in ext["sources"]),
            "-o",
            target,
        ]
        run(command, cwd=source, env=env)
        built.append(target)
    return built


def python_files(source: Path, out: Path) -> Path:
    """setuptools' choice of the package's files (build_py) and metadata (dist_info) in ``out``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AZAION_RELEASE")}
    existed = {egg.name for egg in source.glob("*.egg-info")}
    info = Path(tempfile.mkdtemp(prefix="azaion-aarch64-info-"))
    try:
        with tempfile.TemporaryDirectory(prefix="azaion-aarch64-py-") as tmp:
            run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", tmp], cwd=source, env=env)
            shutil.copytree(tmp, out, dirs_exist_ok=True)
        run([sys.executable, "setup.py", "-q", "dist_info", "--output-dir", info], cwd=source, env=env)
        dist_info = next(info.glob("*.dist-info"))
        shutil.copytree(dist_info, out / dist_info.name)
        return out / dist_info.name
    finally:
        shutil.rmtree(info, ignore_errors=True)
        # setuptools leaves an egg-info in the tree, where it would pass for an install.
        for egg in source.glob("*.egg-info"):
            if egg.name not in existed:
                shutil.rmtree(egg, ignore_errors=True)


def build_wheel(
    version: str, outdir: Path, source: Path = ROOT, release: bool = False, extensions=None
) -> Path:
    """One aarch64 wheel of ``source`` for CPython ``version``; its path in ``outdir``.

    ``extensions``: generate_c's answer, when several versions share one Cython run.
    """
    started = time.monotonic()
    if extensions is None:
        extensions = generate_c(source, release)
    with tempfile.TemporaryDirectory(prefix=f"azaion-{tag(version)}-aarch64-") as tmp:
        tree = Path(tmp) / "tree"
        dist_info = python_files(source, tree)
        cross_compile(source, extensions, version, tree)
        for stray in tree.rglob("*"):  # build_py copies no sources; say so if it ever does
            if stray.suffix in (".pyx", ".pxd", ".pxi", ".c", ".h"):
                raise SystemExit(f"a source in the aarch64 wheel's tree: {stray.relative_to(tree)}")
        for stale in ("RECORD", "INSTALLER", "REQUESTED"):
            (dist_info / stale).unlink(missing_ok=True)
        tags = "".join(f"Tag: {tag(version)}-{tag(version)}-{p}\n" for p in PLATFORM_TAGS)
        (dist_info / "WHEEL").write_text(
            f"Wheel-Version: 1.0\nGenerator: azaion build_tools/aarch64.py\nRoot-Is-Purelib: false\n{tags}"
        )
        outdir.mkdir(parents=True, exist_ok=True)
        before = set(outdir.glob("*.whl"))
        run([sys.executable, "-m", "wheel", "pack", "--dest-dir", outdir, tree])
        made = sorted(set(outdir.glob("*.whl")) - before) or sorted(
            outdir.glob(f"azaion-*-{tag(version)}-*aarch64*.whl")
        )
    wheel = made[-1]
    log(f"  {wheel.name}: {wheel.stat().st_size:,} bytes in {time.monotonic() - started:.0f} s")
    return wheel


def auditwheel_platform(wheel: Path) -> str:
    """The manylinux tag auditwheel show finds the wheel's binaries consistent with."""
    auditwheel = Path(sys.executable).parent / "auditwheel"
    out = run([auditwheel if auditwheel.exists() else "auditwheel", "show", wheel]).stdout
    match = re.search(r'consistent with the following platform tag:\s*"([^"]+)"', " ".join(out.split()))
    if not match:
        raise SystemExit(f"auditwheel show said:\n{out}")
    return match.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    wheel = sub.add_parser("wheel", help="build aarch64 wheels (a test build unless --release)")
    wheel.add_argument("--python", action="append", default=[], help=f"one of {', '.join(SUITES)}")
    wheel.add_argument("--outdir", type=Path, default=ROOT / "wheelhouse")
    wheel.add_argument("--release", action="store_true", help="AZAION_RELEASE=1: the deployment key")
    device = sub.add_parser("run", help="run the device's python under QEMU")
    device.add_argument("python", choices=sorted(SUITES))
    device.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "wheel":
        extensions = generate_c(ROOT, args.release)
        for version in args.python or list(SUITES):
            wheel_path = build_wheel(
                version, args.outdir.resolve(), release=args.release, extensions=extensions
            )
            log(f"  auditwheel show: {auditwheel_platform(wheel_path)}")
        return 0
    command, env = device_command(args.python, [a for a in args.args if a != "--"])
    return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
