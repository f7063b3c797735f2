"""The `azaion` command driven as a subprocess against the real server."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "models"


@pytest.fixture
def run(live, client_env):
    """Run `python -m azaion ARGS` with an account's password in the environment."""

    def run_cli(*args: str, account=None, stdin: str = "", env: dict | None = None, check: bool = True):
        full_env = {k: v for k, v in os.environ.items()}
        full_env["AZAION_API_URL"] = live.url
        if account is not None:
            full_env["AZAION_EMAIL"] = account.email
            full_env["AZAION_PASSWORD"] = account.password
        full_env.update(env or {})
        done = subprocess.run(
            [sys.executable, "-m", "azaion", *args],
            cwd=ROOT,
            env=full_env,
            input=stdin.encode(),
            capture_output=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"azaion {' '.join(args)} exited {done.returncode}: {done.stderr.decode()}")
        return done

    return run_cli


def test_login_saves_url_and_email_never_the_password(run, make_account, client_env):
    account = make_account("Operator")
    done = run("login", "--json", account=account)
    data = json.loads(done.stdout)
    assert data["email"] == account.email and data["role"] == "Operator"
    config = (client_env / "config.ini").read_text()
    assert account.email in config and account.password not in config
    assert oct((client_env / "config.ini").stat().st_mode & 0o777) == "0o600"
    # Later commands find the URL and email in the config; the password comes from stdin.
    env = {"AZAION_API_URL": "", "AZAION_EMAIL": ""}
    who = run("whoami", "--json", "--password-stdin", stdin=account.password + "\n", env=env)
    assert json.loads(who.stdout)["email"] == account.email
    run("logout", env=env)
    assert account.email not in (client_env / "config.ini").read_text()


def test_whoami_and_license(run, make_account):
    account = make_account("Operator")
    who = json.loads(run("whoami", "--json", account=account).stdout)
    assert who["role"] == "Operator" and len(who["hardware"]) == 64
    licence = json.loads(run("license", "--json", account=account).stdout)
    assert licence["folders"] == [FOLDER]
    assert "Plan standard" in run("license", account=account).stdout.decode()


def test_push_then_pull_to_stdout_and_to_a_file(run, make_account, tmp_path):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    model = tmp_path / "net.onnx"
    data = os.urandom(300_001)
    model.write_bytes(data)
    pushed = json.loads(run("push", str(model), "--folder", FOLDER, "--json", account=uploader).stdout)
    assert pushed["sha256"] == hashlib.sha256(data).hexdigest() and pushed["name"] == "net.onnx"
    out = run(
        "pull",
        "net.onnx",
        "--folder",
        FOLDER,
        "-o",
        "-",
        account=operator,
        env={"AZAION_HARDWARE_FINGERPRINT": "cli-operator"},
    )
    assert out.stdout == data
    target = tmp_path / "pulled.onnx"
    refused = run(
        "pull",
        "net.onnx",
        "--folder",
        FOLDER,
        "-o",
        str(target),
        account=operator,
        check=False,
        env={"AZAION_HARDWARE_FINGERPRINT": "cli-operator"},
    )
    assert refused.returncode == 2 and not target.exists()
    assert b"--yes" in refused.stderr
    run(
        "pull",
        "net.onnx",
        "--folder",
        FOLDER,
        "-o",
        str(target),
        "--yes",
        account=operator,
        env={"AZAION_HARDWARE_FINGERPRINT": "cli-operator"},
    )
    assert target.read_bytes() == data
    assert oct(target.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("pull", "absent.bin", "--folder", FOLDER, "-o", "-"), 5, b"NOT_FOUND"),
        (("pull", "../x", "--folder", FOLDER, "-o", "-"), 2, b"INVALID_NAME"),
        (("push", "/nonexistent/file", "--folder", FOLDER), 2, b"not a file"),
    ],
)
def test_errors_are_one_line_with_documented_exit_codes(run, make_account, args, code, needle):
    done = run(*args, account=make_account("Operator"), check=False)
    assert done.returncode == code
    assert needle in done.stderr
    assert b"Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_wrong_password_exit_code_and_no_echo(run, make_account):
    account = make_account("Operator")
    done = run("whoami", account=account, env={"AZAION_PASSWORD": "definitely-wrong"}, check=False)
    assert done.returncode == 3
    assert b"definitely-wrong" not in done.stderr + done.stdout


def test_debug_shows_the_traceback(run, make_account):
    done = run(
        "pull",
        "absent.bin",
        "--folder",
        FOLDER,
        "-o",
        "-",
        "--debug",
        account=make_account("Operator"),
        check=False,
    )
    assert done.returncode != 0 and b"Traceback" in done.stderr


def test_no_password_and_no_terminal_is_a_usage_error(run, make_account):
    account = make_account("Operator")
    done = run("whoami", env={"AZAION_EMAIL": account.email, "AZAION_PASSWORD": ""}, check=False)
    assert done.returncode == 2 and b"AZAION_PASSWORD" in done.stderr


def test_signed_push_verify_and_pull_print_who_signed_what(run, live, make_account, tmp_path):
    """`azaion admin publishers`, `push --sign-key`, `verify`, `pull` (issue 15)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    folder = "signed-cli"
    key = ed25519.Ed25519PrivateKey.generate()
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "pub.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    admin = make_account("ApiAdmin")
    run(
        "admin",
        "publishers",
        "add",
        "cli team",
        "--key",
        str(tmp_path / "pub.pem"),
        "--folder",
        folder,
        account=admin,
    )
    run("admin", "publishers", "require-signatures", folder, account=admin)
    run("admin", "publishers", "export", "-o", str(tmp_path / "trust.json"), account=admin)
    assert folder in json.loads((tmp_path / "trust.json").read_text())["signed_folders"]
    (tmp_path / "model.onnx").write_bytes(b"weights" * 1000)
    uploader = make_account("ResourceUploader")
    refused = run("push", str(tmp_path / "model.onnx"), "--folder", folder, account=uploader, check=False)
    assert refused.returncode == 6 and b"SIGNATURE_REQUIRED" in refused.stderr
    pushed = run(
        "push",
        str(tmp_path / "model.onnx"),
        "--folder",
        folder,
        "--sign-key",
        str(tmp_path / "key.pem"),
        account=uploader,
    )
    assert b"signed as version 1" in pushed.stdout
    operator = make_account("Operator", folders=[folder])
    env = {"AZAION_TRUSTED_PUBLISHERS": str(tmp_path / "trust.json")}
    verified = json.loads(
        run("verify", "model.onnx", "--folder", folder, "--json", account=operator, env=env).stdout
    )
    assert (verified["publisher"], verified["version_number"], verified["verified"]) == ("cli team", 1, True)
    assert verified["sha256"] == hashlib.sha256(b"weights" * 1000).hexdigest()
    pulled = run(
        "pull",
        "model.onnx",
        "--folder",
        folder,
        "-o",
        str(tmp_path / "out.onnx"),
        "-y",
        account=operator,
        env=env,
    )
    assert b"verified: " in pulled.stdout and b"signed by cli team" in pulled.stdout
    assert (tmp_path / "out.onnx").read_bytes() == b"weights" * 1000
    unverified = run("verify", "model.onnx", "--folder", folder, account=operator, check=False)
    assert unverified.returncode == 2 and b"trusted publishers" in unverified.stderr
