"""make wheel in small: the sdist and one repaired wheel for this interpreter pass check_wheel.py.

make wheel builds every CPython on the machine; here one build keeps the suite quick. The build
(tests/release_build.py, shared with tests/adversarial/binary) uses this venv's setuptools and
Cython (--no-isolation), a random deployment key, and the same code path as make wheel: sdist,
wheel from the sdist, auditwheel repair --strip, then the checks, including an install into a
fresh venv with the wheel's declared dependencies only.
"""

from __future__ import annotations

import sys
import tarfile

import pytest


@pytest.mark.slow
@pytest.mark.timeout(1800)  # waits for the session's release wheel
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="manylinux wheels are built on Linux")
def test_wheel_for_this_interpreter_passes_its_checks(release_build):
    print(release_build.output)
    assert release_build.returncode == 0, release_build.output[-10000:]
    assert "1 passed, 0 failed" in release_build.output
    assert "deployment wrapping key" in release_build.output  # smoke.py's line from the fresh venv

    wheel = release_build.wheel
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    assert f"-{tag}-{tag}-" in wheel.name and "manylinux" in wheel.name

    # The sdist is for building: sources and the hook, never generated C, headers or binaries.
    with tarfile.open(release_build.sdist) as archive:
        names = {"/".join(n.split("/")[1:]) for n in archive.getnames()}
    assert {
        "azaion/security.pyx",
        "azaion/security.pxd",
        "azaion/__pyinstaller/hook-azaion.py",
        "setup.py",
        "pyproject.toml",
    } <= names
    assert not [n for n in names if n.endswith((".c", ".h", ".so", ".pyd", ".html"))]
    assert not [n for n in names if "azaion-generated" in n or "wrapping-key" in n]
