"""The release wheel holds no wrapping key: not as bytes, hex, XOR-ed with a byte, or in a zlib stream.

One wheel per session (tests/release_build.py), built with a random deployment key from
AZAION_WRAPPING_KEY_FILE. A release build without one, or with the published test key, fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from build_tools import check_wheel
from tests.reference import resource as reference

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [
    pytest.mark.slow,
    # The first test of the session waits for the one release wheel (minutes on a busy machine).
    pytest.mark.timeout(1800),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the release wheel is built on Linux"),
]


@pytest.fixture(scope="module")
def release(release_build):
    assert release_build.returncode == 0, release_build.output[-10000:]
    return release_build


def members(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}


def test_the_deployment_key_is_nowhere_in_the_wheel(release):
    forms = check_wheel.key_forms(release.key)
    raw = release.wheel.read_bytes()
    assert not [f for f in forms if f in raw]
    for name, data in members(release.wheel).items():
        text = check_wheel.readable_text(data)  # the bytes and every zlib stream inside them
        found = [f for f in forms if f in text]
        assert not found, f"{name} holds the deployment key ({len(found)} forms)"


def test_the_test_key_is_not_in_the_release_wheel(release):
    forms = check_wheel.key_forms(reference.TEST_WRAPPING_KEY)
    for name, data in members(release.wheel).items():
        assert not [f for f in forms if f in check_wheel.readable_text(data)], name


def test_the_old_in_source_key_is_gone_everywhere(release):
    # The key that was compiled in before: published in the history, so no build may use it.
    old = bytes.fromhex("80841a9fd2d8144476dbcf4970a2636c" + "b231765c31f7def58a8cb8c22ba2236a")
    for name, data in members(release.wheel).items():
        assert old.hex().encode() not in check_wheel.readable_text(data), name
    tracked = subprocess.run(["git", "grep", "-l", old.hex()], cwd=ROOT, capture_output=True, text=True)
    assert tracked.stdout.split() == []


def test_the_release_reports_its_deployment_key(release, tmp_path):
    out = release.python("import azaion, json; print(json.dumps(azaion.build_info()))", tmp_path)
    assert out.returncode == 0, out.stderr
    import json

    info = json.loads(out.stdout)
    assert info == {
        "wrapping_key": "deployment",
        "key_id": reference.key_id(release.key),
        "previous_key_id": None,
        "stripped": True,
        "test_build": False,
    }


def test_the_release_ignores_a_fingerprint_from_the_environment(release, tmp_path):
    # AZAION_HARDWARE_FINGERPRINT is for test builds only: a release wheel collects its own.
    code = (
        "import os, azaion; a = azaion.HardwareService().hardware_hash; "
        "os.environ['AZAION_HARDWARE_FINGERPRINT'] = 'someone else'; "
        "b = azaion.HardwareService().hardware_hash; print(a == b)"
    )
    out = release.python(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_the_format_constants_are_not_strings_of_the_binary(release):
    [protected] = [d for n, d in members(release.wheel).items() if "/_protected." in n and n.endswith(".so")]
    text = check_wheel.readable_text(protected)
    for constant in (b"AZRS", b"azaion resource v1", b"azaion/envelope/v1", b"azaion envelope v1"):
        assert constant not in text


def test_the_release_wheel_passes_check_wheel_with_its_key(release):
    env = dict(os.environ, AZAION_WRAPPING_KEY_FILE=str(release.key_file))
    out = subprocess.run(
        [sys.executable, ROOT / "build_tools" / "check_wheel.py", "--no-install", release.wheel],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout


def test_check_wheel_finds_a_key_hidden_by_a_single_byte_xor():
    key = os.urandom(32)
    failures = check_wheel.Failures()
    blob = b"\0" * 100 + bytes(b ^ 0x5A for b in key) + b"\0" * 100
    check_wheel.check_keys("blob", check_wheel.readable_text(blob), {"k": key}, failures)
    assert failures
    import zlib

    failures = check_wheel.Failures()
    blob = b"\0" * 10 + zlib.compress(key.hex().encode() * 4) + b"\0" * 10
    check_wheel.check_keys("blob", check_wheel.readable_text(blob), {"k": key}, failures)
    assert failures


# -- the release path refuses the test key -----------------------------------------------------


def build_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZAION_")}
    env.update(extra)
    return env


def setup_py(env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    # Refused before anything is generated or compiled: the check is the first step of build_ext.
    return subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "-b", tmp_path / "lib", "-t", tmp_path / "tmp"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_release_build_without_a_deployment_key_fails(tmp_path):
    out = setup_py(build_env(AZAION_RELEASE="1"), tmp_path)
    assert out.returncode != 0
    assert "AZAION_WRAPPING_KEY_FILE" in out.stderr and "test key" in out.stderr
    assert not (tmp_path / "lib").exists()


def test_the_test_key_is_refused_as_a_deployment_key(tmp_path):
    key_file = tmp_path / "k"
    key_file.write_text(reference.TEST_WRAPPING_KEY.hex())
    out = setup_py(build_env(AZAION_RELEASE="1", AZAION_WRAPPING_KEY_FILE=str(key_file)), tmp_path)
    assert out.returncode != 0 and "published test key" in out.stderr


@pytest.mark.parametrize("content", ["", "abc", "zz" * 32, "00" * 31, "00" * 33])
def test_a_malformed_key_file_is_refused(tmp_path, content):
    key_file = tmp_path / "k"
    key_file.write_text(content)
    out = setup_py(build_env(AZAION_WRAPPING_KEY_FILE=str(key_file)), tmp_path)
    assert out.returncode != 0 and "64 hex digits" in out.stderr


def test_make_wheel_refuses_to_start_without_a_key(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            ROOT / "build_tools" / "build_wheels.py",
            "--python",
            sys.executable,
            "--outdir",
            tmp_path,
        ],
        cwd=ROOT,
        env=build_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode != 0 and "AZAION_WRAPPING_KEY_FILE" in out.stderr
    assert not list(tmp_path.iterdir())


def test_cibuildwheel_builds_releases_and_passes_the_key_file():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[tool.cibuildwheel]", 1)[1]
    assert re.search(r'^environment = \{[^}]*AZAION_RELEASE = "1"', section, re.MULTILINE)
    assert re.search(r'^environment-pass = \[[^\]]*"AZAION_WRAPPING_KEY_FILE"', section, re.MULTILINE)
    # A platform's environment replaces the global one: each that sets one sets AZAION_RELEASE too.
    for platform_env in re.findall(
        r"^\[tool\.cibuildwheel\.\w+\][^\[]*?^environment = (\{.*\})", text, re.M | re.S
    ):
        assert "AZAION_RELEASE" in platform_env
