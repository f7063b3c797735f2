"""Refresh the Swagger UI and ReDoc assets that the server ships (server/src/azaion_server/docs/assets).

    python build_tools/vendor_docs_assets.py

Not part of the build: the assets are committed, so a build needs no network. To move to a new
release, change a version and its integrity below (`npm view NAME@VERSION dist.integrity`), run
this, and check /docs and /redoc with tests/server/docs. Each tarball comes from the npm registry
through `npm pack` and must match its pinned integrity (the registry's sha512) before a file of it
is taken; only the files the pages load, and the licence texts, are kept.
"""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "server" / "src" / "azaion_server" / "docs" / "assets"


@dataclass(frozen=True)
class Source:
    """One npm package: where its files go and which of them are kept."""

    package: str
    version: str
    integrity: str
    folder: str
    files: tuple[str, ...]
    # (file, text, replacement): each text must occur exactly once in the file.
    patches: tuple[tuple[str, str, str], ...] = field(default=())


SOURCES = (
    Source(
        package="swagger-ui-dist",
        version="5.35.0",
        integrity="sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==",
        folder="swagger-ui",
        files=(
            "swagger-ui-bundle.js",
            "swagger-ui-bundle.js.LICENSE.txt",
            "swagger-ui.css",
            "favicon-32x32.png",
            "LICENSE",
            "NOTICE",
        ),
    ),
    # ReDoc 2, the major version FastAPI's own page is written for.
    Source(
        package="redoc",
        version="2.5.4",
        integrity="sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==",
        folder="redoc",
        files=("bundles/redoc.standalone.js", "bundles/redoc.standalone.js.LICENSE.txt", "LICENSE"),
        # The sidebar's "API docs by Redocly" link loads its logo from Redocly's CDN, and no
        # option turns it off; an empty image fails at once and the page hides it (its onError).
        patches=(("bundles/redoc.standalone.js", '"https://cdn.redoc.ly/redoc/logo-mini.svg"', '"data:,"'),),
    ),
)


def fetch(source: Source, workdir: Path) -> tarfile.TarFile:
    """The package's tarball from the registry, checked against the pinned integrity."""
    spec = f"{source.package}@{source.version}"
    name = subprocess.run(
        ["npm", "pack", "--silent", "--pack-destination", str(workdir), spec],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    data = (workdir / name).read_bytes()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != source.integrity:
        sys.exit(f"{spec}: the tarball's integrity is {digest}, pinned {source.integrity}")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


def vendor(source: Source, workdir: Path) -> None:
    """Write the kept files of `source` into their folder, replacing what was there."""
    target = ASSETS / source.folder
    target.mkdir(parents=True, exist_ok=True)
    for old in target.iterdir():
        old.unlink()
    with fetch(source, workdir) as archive:
        for member in source.files:
            extracted = archive.extractfile(f"package/{member}")
            if extracted is None:
                sys.exit(f"{source.package}: {member} is not a file")
            data = extracted.read()
            for file, text, replacement in source.patches:
                if file == member:
                    if data.count(text.encode()) != 1:
                        sys.exit(f"{source.package}: {text} is not in {member} exactly once")
                    data = data.replace(text.encode(), replacement.encode())
            (target / Path(member).name).write_bytes(data)


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        for source in SOURCES:
            vendor(source, Path(workdir))
    lines = ["Vendored by build_tools/vendor_docs_assets.py from the npm registry; do not edit.", ""]
    for source in SOURCES:
        lines.append(f"{source.folder}/: {source.package} {source.version} ({source.integrity})")
        lines.extend(f"  patched {file}: {text} -> {new}" for file, text, new in source.patches)
    (ASSETS / "SOURCES.txt").write_text("\n".join(lines) + "\n")
    print(f"wrote {ASSETS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
