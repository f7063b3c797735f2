"""Registry, machine clients and change events, end to end through the compiled client and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import azaion

FOLDER = "models"
ROOT = Path(__file__).resolve().parents[2]


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(4).hex()}.bin"


def test_list_metadata_publish_and_soft_delete(make_account, connect):
    uploader, admin, operator = (
        make_account("ResourceUploader"),
        make_account("Admin"),
        make_account("Operator"),
    )
    up = connect(uploader, cache="up")
    name = unique("listed")
    up.upload_big_small_resource(os.urandom(10_000), name, FOLDER, None, "detector", True)  # a draft
    info = up.resource_info(name, FOLDER)
    assert info["published"] is False and info["alive"] is True and info["category"] == "detector"
    op = connect(operator, device="op", cache="op")
    assert name not in {r["name"] for r in op.list_resources(folder=FOLDER, count=1000)}
    with pytest.raises(azaion.ResourceNotFound):
        op.load_big_small_resource(name, FOLDER)
    assert up.publish_resource(name, FOLDER)["published"] is True
    listed = op.list_resources(folder=FOLDER, name=name.replace(".", r"\."), count=10)
    assert [r["name"] for r in listed] == [name]
    assert set(listed[0]) >= {
        "id",
        "folder",
        "name",
        "size",
        "uploaded",
        "modified",
        "category",
        "published",
        "alive",
        "checksum",
    }
    assert len(op.load_big_small_resource(name, FOLDER)) == 10_000
    assert connect(admin, cache="admin").delete_resource(name, FOLDER)["alive"] is False
    with pytest.raises(azaion.ResourceNotFound):
        op.load_big_small_resource(name, FOLDER)
    assert name not in {r["name"] for r in op.list_resources(folder=FOLDER, count=1000)}


def test_list_filters(make_account, connect):
    uploader = make_account("ResourceUploader")
    up = connect(uploader, cache="up")
    before = time.time()
    names = [unique("filter") for _ in range(3)]
    for i, name in enumerate(names):
        up.upload_big_small_resource(b"x" * (i + 1), name, FOLDER, None, f"cat-{i % 2}")
    mine = up.list_resources(since=before - 1, count=1000)
    assert set(names) <= {r["name"] for r in mine}
    assert {r["name"] for r in up.list_resources(category="cat-1", since=before - 1)} & set(names) == {
        names[1]
    }
    assert len(up.list_resources(since=before - 1, count=2)) == 2
    with pytest.raises(azaion.BadRequest):
        up.list_resources(colour="red")


def test_machine_client_handshake_then_pull(make_account, connect, live, monkeypatch):
    uploader = make_account("ResourceUploader")
    name = unique("machine")
    data = os.urandom(200_000)
    connect(uploader, cache="up").upload_big_small_resource(data, name, FOLDER)
    client_name = f"drone-{os.urandom(3).hex()}"
    key = live.create_client(client_name, "Operator")
    live.admin(
        "PUT",
        f"/clients/{client_name}/license",
        json={"plan": "fleet", "expires_at": "2099-01-01T00:00:00Z", "folders": [FOLDER]},
    )
    monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", "drone-hardware")
    with azaion.ApiClient(live.url) as drone:
        drone.set_machine_credentials(client_name, key)
        assert drone.load_big_small_resource(name, FOLDER) == data
        assert drone.user.role == azaion.RoleEnum.Operator
    with azaion.ApiClient(live.url) as impostor:
        impostor.set_machine_credentials(client_name, "A" * 43 + "=")
        with pytest.raises(azaion.AuthenticationError):
            impostor.load_big_small_resource(name, FOLDER)


def test_events_reach_a_follower_while_another_user_pushes(make_account, connect):
    uploader, follower = make_account("ResourceUploader"), make_account("Operator")
    watcher = connect(follower, device="watcher", cache="watcher")
    name = unique("evented")
    seen: list[dict] = []
    errors: list[BaseException] = []

    def follow() -> None:
        try:
            for event in watcher.events():
                data = event.get("data") or {}
                if (data.get("resource") or {}).get("name") == name:
                    seen.append(event)
                    if len(seen) >= 2:
                        return
        except BaseException as e:  # surfaced by the assertion below
            errors.append(e)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    time.sleep(1.0)
    up = connect(uploader, cache="up")
    up.upload_big_small_resource(b"v1", name, FOLDER)
    up.upload_big_small_resource(b"v2", name, FOLDER)
    thread.join(timeout=30)
    assert not errors, errors
    assert [e["type"] for e in seen] == ["resource.created", "resource.updated"]
    assert seen[0]["id"] < seen[1]["id"]
    # Resuming after the first event replays the second and nothing before it.
    resumed = next(
        e for e in watcher.events(seen[0]["id"]) if (e["data"].get("resource") or {}).get("name") == name
    )
    assert resumed["id"] == seen[1]["id"]


def cli(live, account, *args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, AZAION_API_URL=live.url, AZAION_EMAIL=account.email, AZAION_PASSWORD=account.password
    )
    return subprocess.run(
        [sys.executable, "-m", "azaion", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_ls_publish_rm_and_events(live, make_account, tmp_path):
    uploader, admin = make_account("ResourceUploader"), make_account("Admin")
    model = tmp_path / unique("cli")
    model.write_bytes(os.urandom(5000))
    assert cli(live, uploader, "push", str(model), "--folder", FOLDER, "--draft").returncode == 0
    listed = json.loads(cli(live, uploader, "ls", "--folder", FOLDER, "--json", "--count", "1000").stdout)
    assert any(r["name"] == model.name and r["published"] is False for r in listed)
    assert cli(live, uploader, "publish", model.name, "--folder", FOLDER).returncode == 0
    assert cli(live, admin, "rm", model.name, "--folder", FOLDER).returncode == 0
    everything = json.loads(
        cli(live, admin, "ls", "--folder", FOLDER, "--all", "--json", "--count", "1000").stdout
    )
    assert any(r["name"] == model.name and r["alive"] is False for r in everything)
    env = dict(os.environ, AZAION_API_URL=live.url, AZAION_EMAIL=admin.email, AZAION_PASSWORD=admin.password)
    follower = subprocess.Popen(
        [sys.executable, "-m", "azaion", "events", "--json", "--last-event-id", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    types: list[str] = []
    timer = threading.Timer(60, follower.kill)
    timer.start()
    try:
        for line in follower.stdout:
            event = json.loads(line)
            if (event["data"].get("resource") or {}).get("name") == model.name:
                types.append(event["type"])
                if len(types) == 3:
                    break
    finally:
        timer.cancel()
        follower.kill()
        follower.communicate()
    assert types == ["resource.created", "resource.published", "resource.deleted"]
