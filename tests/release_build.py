"""One release wheel per test session, built with a random deployment key (tests/conftest.py).

Building a wheel costs a minute or more of both cores, so tests/packaging/test_wheel.py and
tests/adversarial/binary/ share this one: `make wheel`'s code path (sdist, wheel from the
sdist, auditwheel repair --strip, check_wheel.py with an install into a fresh venv) for the
running interpreter, with AZAION_WRAPPING_KEY_FILE naming a fresh random key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ReleaseBuild:
    key: bytes
    key_file: Path
    outdir: Path
    returncode: int
    output: str
    wheel: Path | None
    aarch64_wheel: Path | None  # cp311, cross-built from the same sdist with the same key
    sdist: Path | None
    site: Path | None  # the wheel installed (--no-deps --target), for subprocesses

    def python(self, code: str, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
        """Run code with the installed release wheel first on the path (the venv's dependencies)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZAION_", "PYTHON"))}
        env["PYTHONPATH"] = str(self.site)
        env["AZAION_HARDWARE_FINGERPRINT"] = "release-build-test"
        return subprocess.run(
            [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )


def build(outdir: Path) -> ReleaseBuild:
    key = os.urandom(32)
    key_file = outdir / "deployment.wrapping-key"
    key_file.write_text(key.hex() + "\n")
    key_file.chmod(0o600)
    wheelhouse = outdir / "wheelhouse"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZAION_")}
    env["AZAION_WRAPPING_KEY_FILE"] = str(key_file)
    result = subprocess.run(
        [
            sys.executable,
            ROOT / "build_tools" / "build_wheels.py",
            "--python",
            sys.executable,
            "--outdir",
            wheelhouse,
            "--no-isolation",
            "--aarch64",
            "3.11",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    wheels = sorted(w for w in wheelhouse.glob("*.whl") if "aarch64" not in w.name)
    cross = sorted(wheelhouse.glob("*aarch64*.whl"))
    sdists = sorted(wheelhouse.glob("azaion-*.tar.gz"))
    site = None
    if wheels:
        site = outdir / "site"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, wheels[0]],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return ReleaseBuild(
        key=key,
        key_file=key_file,
        outdir=outdir,
        returncode=result.returncode,
        output=result.stdout + result.stderr,
        wheel=wheels[0] if wheels else None,
        aarch64_wheel=cross[0] if cross else None,
        sdist=sdists[0] if sdists else None,
        site=site,
    )
