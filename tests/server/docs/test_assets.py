"""The vendored Swagger UI and ReDoc: their licences beside them, and all of it in the server wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from azaion_server.docs.routes import ASSETS_DIR

SERVER = Path(__file__).resolve().parents[3] / "server"


def _assets() -> set[str]:
    return {path.relative_to(ASSETS_DIR).as_posix() for path in ASSETS_DIR.rglob("*") if path.is_file()}


def test_each_tool_ships_with_its_licence_and_its_pinned_source() -> None:
    assets = _assets()
    assert {
        "swagger-ui/LICENSE",
        "swagger-ui/NOTICE",
        "swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
        "redoc/LICENSE",
        "redoc/redoc.standalone.js.LICENSE.txt",
    } <= assets
    sources = (ASSETS_DIR / "SOURCES.txt").read_text()
    assert "swagger-ui-dist 5." in sources and "redoc 2." in sources
    assert "Apache License" in (ASSETS_DIR / "swagger-ui" / "LICENSE").read_text()
    assert "MIT License" in (ASSETS_DIR / "redoc" / "LICENSE").read_text()
    # The one reference to another host in the bundles that a page would load is patched out.
    assert b"cdn.redoc.ly" not in (ASSETS_DIR / "redoc" / "redoc.standalone.js").read_bytes()


def test_the_server_wheel_carries_every_asset(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            tmp_path,
            SERVER,
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("azaion_server-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {f"azaion_server/docs/assets/{name}" for name in _assets()} <= names
    assert "azaion_server/docs/routes.py" in names
