"""make wheel in small: the sdist and one repaired wheel for this interpreter pass check_wheel.py.

make wheel builds every CPython on the machine; here one build keeps the suite quick. The build
uses this venv's setuptools and Cython (--no-isolation) and the same code path as make wheel:
sdist, wheel from the sdist, auditwheel repair --strip, then the checks, including an install
into a fresh venv with the wheel's declared dependencies only.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="manylinux wheels are built on Linux")
def test_wheel_for_this_interpreter_passes_its_checks(tmp_path):
    out = tmp_path / "wheelhouse"
    result = subprocess.run(
        [
            sys.executable,
            ROOT / "build_tools" / "build_wheels.py",
            "--python",
            sys.executable,
            "--outdir",
            out,
            "--no-isolation",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert "1 passed, 0 failed" in result.stdout

    [wheel] = out.glob("*.whl")
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    assert f"-{tag}-{tag}-" in wheel.name and "manylinux" in wheel.name

    # The sdist is for building: sources and the hook, never generated C or binaries.
    [sdist] = out.glob("azaion-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {"/".join(n.split("/")[1:]) for n in archive.getnames()}
    assert {
        "azaion/security.pyx",
        "azaion/security.pxd",
        "azaion/__pyinstaller/hook-azaion.py",
        "setup.py",
        "pyproject.toml",
    } <= names
    assert not [n for n in names if n.endswith((".c", ".so", ".pyd", ".html"))]
