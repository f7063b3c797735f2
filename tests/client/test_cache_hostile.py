"""A cache folder someone else has been at: links, pipes, folders and other users' files.

Every path the cache uses is tried with each thing that must not be followed or opened; each
load is refused with CacheError (no hang, no traceback) and the planted thing, and whatever it
points to, is left as it was.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import uuid
from pathlib import Path

import pytest

import azaion
from tests.client.conftest import EMAIL, PASSWORD

FOLDER = "models"
NAME = "planted.bin"
STRANGER = 12345  # a uid that is not this process's (tests run as root here)


def version_of(api) -> str:
    return api.resources[(FOLDER, NAME)][10:26].hex()


def paths(cache: Path, api) -> dict[str, Path]:
    return {
        "final": cache / FOLDER / f"{NAME}.big",
        "partial": cache / FOLDER / f"{NAME}.big.{version_of(api)}.partial",
        "lock": cache / ".locks" / FOLDER / f"{NAME}.big.lock",
        "root": cache,
        "folder": cache / FOLDER,
        "locks": cache / ".locks",
        "lock folder": cache / ".locks" / FOLDER,
    }


FILES = ["final", "partial", "lock"]
FOLDERS = ["root", "folder", "locks", "lock folder"]


def snapshot(path: Path) -> tuple:
    """What a path is now: its type, owner, mode, size, mtime and content (or listing)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path), snapshot(path.parent / os.readlink(path)))
    if stat.S_ISDIR(st.st_mode):
        content = tuple(sorted(p.name for p in path.iterdir()))
    elif stat.S_ISREG(st.st_mode):
        content = path.read_bytes()
    else:
        content = None
    return (stat.S_IFMT(st.st_mode), st.st_uid, st.st_mode, st.st_size, st.st_mtime_ns, content)


def plant(kind: str, path: Path, is_folder: bool, victim: Path) -> None:
    """Put a hostile thing at `path`, with everything above it in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        for child in sorted(path.rglob("*"), reverse=True):
            child.rmdir() if child.is_dir() and not child.is_symlink() else child.unlink()
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()
    if kind == "link":
        path.symlink_to(victim)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "file":
        path.write_bytes(b"not a folder")
    elif kind == "foreign":
        if is_folder:
            path.mkdir()
        else:
            path.write_bytes(b"someone else's")
        os.chown(path, STRANGER, STRANGER)
    else:
        raise AssertionError(kind)


def load_in_thread(client: azaion.ApiClient) -> BaseException:
    """Load NAME; returns what it raised. A load that hangs (a FIFO opened blocking) fails the test."""
    outcome: list = []

    def run() -> None:
        try:
            client.load_big_small_resource(NAME, FOLDER)
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the load hung"
    return outcome[0]


@pytest.fixture
def published(client, api, tmp_path):
    """NAME uploaded; the uploader's cache holds its big part. Returns the cache and a victim."""
    client.upload_big_small_resource(os.urandom(300_000), NAME, FOLDER)
    victims = tmp_path / "victims"
    victims.mkdir()
    (victims / "precious.txt").write_bytes(b"must survive")
    (victims / "precious-dir").mkdir()
    return tmp_path / "cache", victims


CASES = [(where, kind) for where in FILES for kind in ("link", "fifo", "directory", "foreign")] + [
    (where, kind) for where in FOLDERS for kind in ("link", "file", "fifo", "foreign")
]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX file types")
@pytest.mark.parametrize(("where", "kind"), CASES, ids=[f"{w}-{k}" for w, k in CASES])
def test_planted_paths_are_refused_and_left_alone(published, api, api_url, where, kind):
    cache, victims = published
    places = paths(cache, api)
    if where != "final":
        places["final"].unlink()  # the load must reach the lock and the partial file
    victim = victims / ("precious-dir" if where in FOLDERS else "precious.txt")
    plant(kind, places[where], where in FOLDERS, victim)
    before = {"target": snapshot(places[where]), "victim": snapshot(victim)}
    with azaion.ApiClient(api_url) as other:
        other.set_credentials_from_dict(EMAIL, PASSWORD)
        error = load_in_thread(other)
    assert isinstance(error, azaion.CacheError), repr(error)
    assert "AZAION_CACHE_DIR" in str(error) and str(places[where]) in str(error)
    assert snapshot(places[where]) == before["target"]
    assert snapshot(victim) == before["victim"]


def test_a_link_at_the_uploaders_temporary_file_is_not_followed(client, api, tmp_path, monkeypatch, caplog):
    victim = tmp_path / "precious.txt"
    victim.write_bytes(b"must survive")
    fixed = uuid.UUID(int=7)
    monkeypatch.setattr(uuid, "uuid4", lambda: fixed)
    folder = tmp_path / "cache" / FOLDER
    folder.mkdir(parents=True)
    temp = folder / f"{NAME}.big.{fixed.hex}.incomplete"
    temp.symlink_to(victim)
    caplog.set_level(logging.WARNING, logger="azaion")
    data = os.urandom(200_000)
    client.upload_big_small_resource(data, NAME, FOLDER)  # the cache is a convenience of uploads
    assert victim.read_bytes() == b"must survive" and temp.is_symlink()
    assert any("without writing the local cache" in r.getMessage() for r in caplog.records)
    assert not (folder / f"{NAME}.big").exists()
    assert client.load_big_small_resource(NAME, FOLDER) == data


def test_a_link_at_the_final_path_is_not_replaced_by_an_upload(client, api, tmp_path, caplog):
    victim = tmp_path / "precious.txt"
    victim.write_bytes(b"must survive")
    final = tmp_path / "cache" / FOLDER / f"{NAME}.big"
    final.parent.mkdir(parents=True)
    final.symlink_to(victim)
    caplog.set_level(logging.WARNING, logger="azaion")
    client.upload_big_small_resource(os.urandom(1000), NAME, FOLDER)
    assert final.is_symlink() and victim.read_bytes() == b"must survive"
    assert any("local cache was not written" in r.getMessage() for r in caplog.records)
    assert not [p for p in final.parent.iterdir() if p.name.endswith(".incomplete")]


def test_cache_folders_are_created_private(client, api, tmp_path):
    client.upload_big_small_resource(os.urandom(1000), NAME, FOLDER)
    cache = tmp_path / "cache"
    for folder in (cache, cache / FOLDER, cache / ".locks", cache / ".locks" / FOLDER):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for file in (cache / FOLDER / f"{NAME}.big", cache / ".locks" / FOLDER / f"{NAME}.big.lock"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
