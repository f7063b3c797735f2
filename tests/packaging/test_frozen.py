"""A loader frozen with PyInstaller logs in, loads a resource over real HTTP and S3, prints its digest.

The freeze uses the compiled azaion of this checkout (``make compile``) and finds azaion's hook
only through the ``pyinstaller40`` entry point declared in pyproject.toml: no hidden imports, no
data files on the command line. The frozen binary then runs with a clean environment, from
another directory, against the scripted API (tests/client/fake_api.py) and the S3 emulator.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import azaion
from tests.client.conftest import fake_api_on

ROOT = Path(__file__).resolve().parents[2]
UPLOADER = ("uploader@example.com", "correct horse battery staple")
OPERATOR = ("operator@example.com", "a different long passphrase")

LOADER = """\
import hashlib
import os
import sys

import azaion


def main():
    api_url, name, folder = sys.argv[1:4]
    with azaion.ApiClient(api_url) as client:
        client.set_credentials_from_dict(os.environ["LOADER_EMAIL"], os.environ["LOADER_PASSWORD"])
        client.login()
        data = client.load_big_small_resource(name, folder)
    print("frozen", getattr(sys, "frozen", False), os.path.basename(azaion.api_client.__file__))
    print("sha256", hashlib.sha256(data).hexdigest(), len(data))


if __name__ == "__main__":
    main()
"""


def entry_points_from_pyproject() -> str:
    """The [project.entry-points.*] tables of pyproject.toml, as a wheel's entry_points.txt."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = []
    for group, entries in project.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
    return "\n".join(lines) + "\n"


def fake_distribution(where: Path) -> Path:
    """The checkout's compiled azaion as an installed distribution, as a wheel would make it.

    Only this directory goes on PyInstaller's path, not the checkout, where a stale
    azaion.egg-info could supply the entry point instead.
    """
    where.mkdir(parents=True)
    (where / "azaion").symlink_to(ROOT / "azaion", target_is_directory=True)
    dist_info = where / f"azaion-{azaion.__version__}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: azaion\nVersion: {azaion.__version__}\n"
    )
    (dist_info / "entry_points.txt").write_text(entry_points_from_pyproject())
    return where


@pytest.fixture
def published(httpserver, s3_endpoint, s3_bucket, monkeypatch, tmp_path):
    """The scripted API with an uploader and an operator, and one resource published through it."""
    for name in [n for n in os.environ if n.startswith("AZAION_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AZAION_CACHE_DIR", str(tmp_path / "uploader-cache"))
    monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", "uploader workstation")
    monkeypatch.setenv("AZAION_BACKOFF", "0")
    monkeypatch.setenv("AZAION_DATA_DIR", str(tmp_path / "uploader-data"))
    monkeypatch.setenv("AZAION_LEGACY_ENVELOPE", "true")  # the scripted API speaks the v1 envelope
    fake = fake_api_on(s3_endpoint, s3_bucket)
    fake.add_user(*UPLOADER, role="ResourceUploader")
    fake.add_user(*OPERATOR, role="Operator")
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake.handle)
    api_url = httpserver.url_for("").rstrip("/")
    data = os.urandom(3 * (1 << 20) + 12345)
    with azaion.ApiClient(api_url) as client:
        client.set_credentials_from_dict(*UPLOADER)
        client.upload_big_small_resource(data, "detector.onnx", "models")
    yield api_url, data
    httpserver.clear()


@pytest.mark.frozen
@pytest.mark.slow
def test_frozen_loader_loads_a_resource(published, tmp_path):
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        pytest.fail(
            "PyInstaller is not installed: add `pyinstaller` to requirements-dev.txt and run make venv "
            "(or run pytest with --skip-frozen)"
        )
    api_url, data = published
    compiled = Path(azaion.api_client.__file__)
    assert compiled.parent == ROOT / "azaion" and compiled.suffix in (".so", ".pyd"), "run make compile first"

    (tmp_path / "loader.py").write_text(LOADER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZAION_", "PYTHON"))}
    env["PYTHONPATH"] = str(fake_distribution(tmp_path / "site"))
    started = time.monotonic()
    freeze = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--onedir",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            tmp_path / "dist",
            "--workpath",
            tmp_path / "work",
            "--specpath",
            tmp_path,
            "--name",
            "loader",
            tmp_path / "loader.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert freeze.returncode == 0, freeze.stdout[-3000:] + freeze.stderr[-5000:]
    bundle = tmp_path / "dist" / "loader"
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    print(f"froze in {time.monotonic() - started:.0f} s: {size / 1e6:.0f} MB in {bundle}")

    packaged = {p.name for p in bundle.rglob("*") if "azaion" in p.parts}
    # The protected modules are all in _protected (setup.py), which registers their import paths.
    for module in ("_protected", "constants", "user"):
        assert any(n.startswith(f"{module}.") and n.endswith((".so", ".pyd")) for n in packaged), module
    assert not [n for n in packaged if n.endswith((".pyx", ".pxd", ".c"))]

    # A clean environment and another directory: nothing from this checkout or its venv is reachable.
    run_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "AZAION_CACHE_DIR": str(tmp_path / "loader-cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "AZAION_BACKOFF": "0",
        "AZAION_LEGACY_ENVELOPE": "true",
        "LOADER_EMAIL": OPERATOR[0],
        "LOADER_PASSWORD": OPERATOR[1],
    }
    (tmp_path / "elsewhere").mkdir()
    loaded = subprocess.run(
        [bundle / "loader", api_url, "detector.onnx", "models"],
        cwd=tmp_path / "elsewhere",
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    lines = dict(line.split(" ", 1) for line in loaded.stdout.splitlines())
    assert lines["frozen"].startswith("True _protected.")  # azaion.api_client lives in _protected
    assert lines["sha256"] == f"{hashlib.sha256(data).hexdigest()} {len(data)}"
    # The big part came from the emulator into the frozen loader's own cache.
    cached = [p for p in (tmp_path / "loader-cache").rglob("*") if p.is_file() and ".locks" not in p.parts]
    assert len(cached) == 1 and cached[0].stat().st_size > len(data) // 2
