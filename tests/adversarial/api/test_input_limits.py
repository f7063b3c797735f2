"""Hostile names and sizes: 400/413 answers, nothing written outside the storage root, no 500."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

FOLDER = "models"
BAD_NAMES = ["../../x", "..\\x", "/etc/passwd", "%2e%2e%2f", "a\x00b", "n" * 300, "CON", ".", "..", "x/y"]


def bearer(live, account) -> dict:
    return {"Authorization": f"Bearer {live.login(account.email, account.password)}"}


def storage_files(live) -> set[Path]:
    root = Path(live.env["AZAION_STORAGE_DIR"])
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_file_names_on_upload_and_read(live, make_account, name):
    headers = bearer(live, make_account("ResourceUploader"))
    before = storage_files(live)
    upload = live.http.post(
        f"{live.url}/resources/{FOLDER}", files={"data": (name, b"x")}, headers=headers, timeout=30
    )
    assert upload.status_code in (400, 404, 405), upload.text
    if upload.status_code == 400:
        assert upload.json()["code"] in ("INVALID_NAME", "BAD_REQUEST")
    read = live.http.post(
        f"{live.url}/resources/get/{FOLDER}",
        json={"fileName": name, "hardware": "a" * 64, "password": "x"},
        headers=headers,
        timeout=30,
    )
    assert read.status_code in (400, 401), read.text
    assert storage_files(live) == before
    root = Path(live.env["AZAION_STORAGE_DIR"]).resolve()
    assert not (root.parent / "x").exists()


@pytest.mark.parametrize("folder", ["..", "%2e%2e", "CON", "a\x00", "f" * 300, "system"])
def test_bad_folders_on_upload(live, make_account, folder):
    headers = bearer(live, make_account("ResourceUploader"))
    answer = live.http.post(
        f"{live.url}/resources/{folder}", files={"data": ("ok.bin", b"x")}, headers=headers, timeout=30
    )
    assert answer.status_code in (400, 404, 405), answer.text
    assert answer.status_code != 500


def test_count_is_clamped(live, make_account):
    headers = bearer(live, make_account("Admin"))
    answer = live.http.get(f"{live.url}/resources", params={"count": 10**9}, headers=headers, timeout=30)
    assert answer.status_code in (200, 400)
    if answer.status_code == 200:
        assert len(answer.json()["results"]) <= 1000


@pytest.mark.parametrize(
    "pattern", ["(a+)+$", "(a|aa)+$", "(a*)*b", "([a-z]+)*\\d", "(" * 200, "[", "a{1000000}"]
)
def test_costly_or_malformed_regexes_are_bounded(live, make_account, connect, pattern):
    uploader = make_account("ResourceUploader")
    connect(uploader, cache="re").upload_big_small_resource(
        b"x", "a" * 60 + os.urandom(4).hex() + "!", FOLDER
    )
    started = time.perf_counter()
    answer = live.http.get(
        f"{live.url}/resources", params={"name": pattern}, headers=bearer(live, uploader), timeout=30
    )
    assert time.perf_counter() - started < 3.0
    assert answer.status_code in (200, 400), answer.text


def test_oversized_json_is_refused(live, make_account):
    headers = bearer(live, make_account("Operator"))
    body = b'{"fileName": "' + b"x" * (4 << 20) + b'", "hardware": "' + b"a" * 64 + b'", "password": "p"}'
    answer = live.http.post(
        f"{live.url}/resources/get/{FOLDER}",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code in (400, 413)


def test_upload_above_the_limit_is_413(live, make_account):
    limit = int(live.env["AZAION_MAX_UPLOAD_BYTES"])
    headers = bearer(live, make_account("ResourceUploader"))
    answer = live.http.post(
        f"{live.url}/resources/{FOLDER}",
        files={"data": ("huge.bin", os.urandom(limit + 1))},
        headers=headers,
        timeout=60,
    )
    assert answer.status_code == 413 and answer.json()["code"] == "TOO_LARGE"


def test_errors_never_carry_a_stack_trace(live, make_account):
    headers = bearer(live, make_account("Operator"))
    for method, path, kwargs in [
        (
            "POST",
            f"/resources/get/{FOLDER}",
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
        ),
        ("POST", f"/resources/get/{FOLDER}", {"json": {"fileName": 5, "hardware": [], "password": None}}),
        ("GET", "/resources", {"params": {"since": "yesterday", "count": "many"}}),
        ("PUT", "/users/abc/role", {"json": {"role": "God"}}),
        ("POST", "/login", {"data": b"\xff\xfe", "headers": {"Content-Type": "application/json"}}),
    ]:
        merged = {**headers, **kwargs.pop("headers", {})}
        answer = live.http.request(method, live.url + path, headers=merged, timeout=30, **kwargs)
        assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
        assert "Traceback" not in answer.text and answer.headers["content-type"].startswith(
            "application/json"
        )
