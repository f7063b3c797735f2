"""make test-aarch64: the client's aarch64 wheel on an emulated device (QEMU user mode).

For each CPython that Debian ships for arm64 within requires-python (bookworm 3.11, trixie 3.13): a test
build of the wheel (the published test key, like make compile's), cross-compiled here with zig
(build_tools/aarch64.py), must pass check_wheel.py's checks of contents and binaries and agree
with ``auditwheel show``; pip installs it for aarch64; Debian's own arm64 CPython runs, under
qemu-aarch64-static, tests/packaging/smoke.py and then a device's real work against the x86-64
server on loopback (SQLite and the S3 emulator): login, cold load, warm load, the digest of
each, and ONNX Runtime inference on the loaded bytes, compared with the original's output here.
The release path (make wheel's aarch64 wheel, with a deployment key) is checked on its own.
Emulated AES-GCM runs at about 18 MB/s: the model is a few MiB.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build_tools"))

import aarch64  # noqa: E402
import demo_model  # noqa: E402

from build_tools.live_server import LiveServer  # noqa: E402

VERSIONS = sorted(aarch64.SUITES, key=lambda v: tuple(map(int, v.split("."))))
# ONNX Runtime's aarch64 wheels after 1.24.1 use instructions QEMU's default CPU lacks.
DEVICE_CONSTRAINTS = ["onnxruntime<=1.24.1"]
MODEL_MIB = 2
FOLDER = "models"
NAME = "device-demo.onnx"

pytestmark = [
    pytest.mark.aarch64,
    # Cold: Debian's packages, pip's wheels and three cross-compiles on a shared 2-core machine.
    pytest.mark.timeout(2400),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="QEMU user mode runs on Linux"),
]


@pytest.fixture(scope="module")
def test_wheels(tmp_path_factory) -> dict[str, Path]:
    """The test build's aarch64 wheels, one per CPython, from one Cython run of this tree."""
    outdir = tmp_path_factory.mktemp("aarch64-wheels")
    extensions = aarch64.generate_c(ROOT, release=False)
    return {v: aarch64.build_wheel(v, outdir, ROOT, release=False, extensions=extensions) for v in VERSIONS}


@pytest.fixture(scope="module")
def device_site(test_wheels) -> dict[str, list[Path]]:
    """What the device's PYTHONPATH holds per CPython: the installed wheel, then its dependencies."""
    paths = {}
    for version, wheel in test_wheels.items():
        requirements = sorted(requirements_of(wheel)) + ["onnxruntime", "numpy"]
        deps = aarch64.device_packages(version, requirements, DEVICE_CONSTRAINTS)
        site = aarch64.install_wheel(version, wheel, wheel.parent / f"site-{version}")
        paths[version] = [site, deps]
    return paths


def key_id_of(key: bytes) -> int:
    """setup.py's key id of a wrapping key (setup.py is loaded, not run: it would build)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("azaion_setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.key_id_of(key)


def requirements_of(wheel: Path) -> list[str]:
    """The wheel's own Requires-Dist lines without extras (what pip would install with it)."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(metadata).decode().splitlines()
    return [
        line.split(":", 1)[1].strip()
        for line in lines
        if line.startswith("Requires-Dist:") and "extra" not in line
    ]


def on_device(
    version: str, args, pythonpath, cwd: Path, env=None, timeout=900
) -> subprocess.CompletedProcess:
    """The device's python with ``args``; ``cwd`` holds no azaion/ (``-c`` puts it first on sys.path)."""
    command, device_env = aarch64.device_command(version, args, pythonpath)
    device_env.update(env or {})
    return subprocess.run(command, env=device_env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_wheel_passes_the_checks_of_the_x86_64_wheels(test_wheels, version):
    wheel = test_wheels[version]
    tag = aarch64.tag(version)
    assert f"-{tag}-{tag}-" in wheel.name
    assert "manylinux_2_17_aarch64" in wheel.name and "manylinux2014_aarch64" in wheel.name
    assert aarch64.auditwheel_platform(wheel) == "manylinux_2_17_aarch64"
    result = subprocess.run(
        [sys.executable, ROOT / "build_tools" / "check_wheel.py", "--no-install", wheel],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    so = [n for n in names if n.endswith(".so")]
    assert sorted(Path(n).name.split(".")[0] for n in so) == ["_protected", "constants", "user"]
    assert all(n.endswith(f".cpython-{tag[2:]}-aarch64-linux-gnu.so") for n in so)
    assert {"azaion/py.typed", "azaion/onnx.py", "azaion/api_client.pyi"} <= set(names)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_smoke_test_passes_on_the_emulated_device(device_site, version, tmp_path):
    # Not -I (it would drop PYTHONPATH, where the installed wheel is); the script's folder holds
    # no azaion, so the import finds the installed wheel, which --expect-prefix checks.
    site = device_site[version][0]
    smoke = ROOT / "tests" / "packaging" / "smoke.py"
    result = on_device(
        version, [smoke, "--expect-prefix", site, "--expect-key", "test"], device_site[version], tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test wrapping key" in result.stdout


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The x86-64 server on loopback with a licensed operator and the demo model published."""
    import azaion

    work = tmp_path_factory.mktemp("aarch64-server")
    model = demo_model.make_model(MODEL_MIB)
    password = secrets.token_urlsafe(12)
    with LiveServer({"AZAION_ADMIN_EMAIL": "admin@azaion.local"}, dev=True, log_dir=work) as server:
        uploader_password = secrets.token_urlsafe(12)
        server.create_user("uploader@azaion.local", uploader_password, "ResourceUploader")
        emails = {}
        for version in VERSIONS:
            email = f"device-{aarch64.tag(version)}@azaion.local"
            operator = server.create_user(email, password, "Operator")
            server.set_license(operator, [FOLDER], days=1)
            emails[version] = email
        with azaion.ApiClient(server.url, cache_dir=work / "uploader-cache") as uploader:
            uploader.set_credentials_from_dict("uploader@azaion.local", uploader_password)
            uploader.upload_big_small_resource(model, NAME, FOLDER)
        import onnxruntime

        expected = demo_model.run(onnxruntime.InferenceSession(model))
        yield server, emails, password, hashlib.sha256(model).hexdigest(), expected, len(model)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_device_loads_and_runs_the_model(device_site, published, version, tmp_path):
    server, emails, password, digest, expected, size = published
    result = on_device(
        version,
        [ROOT / "build_tools" / "device_load.py", server.url, emails[version], NAME, FOLDER],
        device_site[version],
        tmp_path,
        env={"AZAION_DEVICE_PASSWORD": password, "AZAION_HARDWARE_FINGERPRINT": f"qemu-{version}"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps({k: v for k, v in report.items() if k != "output"}))
    assert report["machine"] == "aarch64"
    assert report["python"].startswith(version + ".")
    assert report["extension"].endswith("-aarch64-linux-gnu.so")
    assert report["bytes"] == size
    assert report["cold_sha256"] == digest
    assert report["warm_sha256"] == digest
    assert len(report["output"]) == demo_model.CLASSES
    # Another machine's kernels (NEON, not AVX): equal to float32 rounding, not bit for bit.
    assert report["output"] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert sum(report["output"]) == pytest.approx(1.0, abs=1e-4)


def test_the_release_wheel_holds_the_deployment_key(release_build, tmp_path):
    """make wheel's aarch64 wheel: built with the deployment key, as the x86-64 one."""
    assert release_build.returncode == 0, release_build.output[-5000:]
    wheel = release_build.aarch64_wheel
    assert wheel is not None and wheel.name.startswith("azaion-") and "-cp311-cp311-" in wheel.name
    assert "manylinux_2_17_aarch64" in wheel.name
    assert "auditwheel show: manylinux_2_17_aarch64" in release_build.output
    site = aarch64.install_wheel("3.11", wheel, tmp_path / "site")
    deps = aarch64.device_packages("3.11", sorted(requirements_of(wheel)), DEVICE_CONSTRAINTS)
    code = (
        "import azaion, json; from azaion import _protected; "
        "print(json.dumps(dict(azaion.build_info(), module=_protected.__file__)))"
    )
    # From tmp_path: run from the project, -c would import the source tree's azaion/ (its
    # x86-64 build) ahead of the installed wheel.
    result = on_device(
        "3.11",
        ["-c", code],
        [site, deps],
        tmp_path,
        env={k: "" for k in os.environ if k.startswith("AZAION_")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["module"].startswith(str(site)) and info["module"].endswith("-aarch64-linux-gnu.so")
    assert info["wrapping_key"] == "deployment"
    assert info["key_id"] == key_id_of(release_build.key)
    assert info["stripped"] is True
