"""`azaion admin ...` as a subprocess against the real server, text and `--json`."""

from __future__ import annotations

import json

from tests.e2e.test_cli import run  # noqa: F401 - the fixture


def _json(done) -> object:
    return json.loads(done.stdout)


def test_users_and_their_licences(run, make_account, live):  # noqa: F811
    admin = make_account("ApiAdmin")
    email = f"field-{admin.id}@e2e.local"
    created = _json(
        run(
            "admin",
            "users",
            "create",
            email,
            "--role",
            "Operator",
            "--json",
            account=admin,
            env={"AZAION_NEW_USER_PASSWORD": "a-chosen-password"},
        )
    )
    assert created["email"] == email and created["role"] == "Operator" and "password" not in created
    assert live.login(email, "a-chosen-password")
    generated = _json(
        run("admin", "users", "create", "gen-" + email, "--role", "Validator", "--json", account=admin)
    )
    assert live.login("gen-" + email, generated["password"])  # shown once, and it works
    listed = _json(run("admin", "users", "list", "--json", account=admin))
    assert {email, "gen-" + email} <= {u["email"] for u in listed}
    text = run("admin", "users", "list", account=admin).stdout.decode()
    assert email in text and "no licence" in text

    licence = _json(
        run(
            "admin",
            "licences",
            "set",
            "--user",
            email,
            "--plan",
            "field",
            "--expires-at",
            "2031-01-01T00:00:00Z",
            "--folders",
            "models,maps",
            "--offline-hours",
            "12",
            "--max-devices",
            "2",
            "--json",
            account=admin,
        )
    )
    assert licence == {
        "plan": "field",
        "expires_at": "2031-01-01T00:00:00Z",
        "folders": ["maps", "models"],
        "offline_hours": 12,
        "max_devices": 2,
    }
    shown = _json(run("admin", "licences", "show", "--user", str(created["id"]), "--json", account=admin))
    assert shown["offline_hours"] == 12 and shown["plan"] == "field"
    assert "offline 12 h" in run("admin", "licences", "show", "--user", email, account=admin).stdout.decode()

    changed = _json(run("admin", "users", "role", email, "Admin", "--json", account=admin))
    assert changed["role"] == "Admin"
    assert _json(run("admin", "users", "reset-hardware", email, "--json", account=admin))["email"] == email
    assert _json(run("admin", "users", "delete", email, "--json", account=admin))["email"] == email
    missing = run("admin", "users", "delete", email, account=admin, check=False)
    assert missing.returncode == 5 and b"no user" in missing.stderr


def test_machine_clients(run, make_account):  # noqa: F811
    admin = make_account("ApiAdmin")
    name = f"drone-{admin.id}"
    created = _json(run("admin", "clients", "create", name, "--role", "Operator", "--json", account=admin))
    assert created["client_name"] == name and len(created["key"]) == 44
    licence = _json(
        run(
            "admin",
            "clients",
            "licence",
            name,
            "--plan",
            "fleet",
            "--expires-at",
            "2031-01-01T00:00:00Z",
            "--folders",
            "models",
            "--offline-hours",
            "48",
            "--json",
            account=admin,
        )
    )
    assert licence["offline_hours"] == 48 and licence["folders"] == ["models"]
    listed = {c["client_name"]: c for c in _json(run("admin", "clients", "list", "--json", account=admin))}
    assert listed[name]["license"]["offline_hours"] == 48 and listed[name]["enabled"] is True
    shown = _json(run("admin", "licences", "show", "--client", name, "--json", account=admin))
    assert shown["plan"] == "fleet"
    run("admin", "clients", "disable", name, account=admin)
    listed = {c["client_name"]: c for c in _json(run("admin", "clients", "list", "--json", account=admin))}
    assert listed[name]["enabled"] is False
    assert _json(run("admin", "clients", "delete", name, "--json", account=admin)) == {"deleted": name}


def test_signing_keys_and_audit(run, make_account):  # noqa: F811
    admin = make_account("ApiAdmin")
    before = _json(run("admin", "signing-keys", "list", "--json", account=admin))
    rotated = _json(run("admin", "signing-keys", "rotate", "--json", account=admin))
    assert rotated["current"] is True and rotated["kid"] not in {k["kid"] for k in before}
    after = _json(run("admin", "signing-keys", "list", "--json", account=admin))
    assert after[0]["kid"] == rotated["kid"] and {k["kid"] for k in before} <= {k["kid"] for k in after}
    page = _json(
        run("admin", "audit", "--action", "signing_key.rotated", "--limit", "1", "--json", account=admin)
    )
    assert page["results"][0]["detail"] == rotated["kid"]
    assert page["results"][0]["actor_name"] == admin.email
    logins = _json(
        run("admin", "audit", "--action", "login", "--actor", str(admin.id), "--json", account=admin)
    )
    assert len(logins["results"]) >= 4 and all(r["actor_name"] == admin.email for r in logins["results"])
    text = run(
        "admin", "audit", "--action", "signing_key.rotated", "--limit", "5", account=admin
    ).stdout.decode()
    assert rotated["kid"] in text and admin.email in text


def test_only_api_admins_administer(run, make_account):  # noqa: F811
    operator = make_account("Operator")
    refused = run("admin", "users", "list", "--json", account=operator, check=False)
    assert refused.returncode == 4 and b"FORBIDDEN" in refused.stderr
    usage = run("admin", "licences", "show", account=operator, check=False)
    assert usage.returncode == 2


def test_a_two_call_command_reads_the_password_from_stdin_once(run, make_account, live):  # noqa: F811
    # `users role` looks the user up, then changes it: one login for both, so --password-stdin
    # (read once, then empty) is enough.
    admin = make_account("ApiAdmin")
    person = make_account("Operator")
    done = run(
        "admin",
        "users",
        "role",
        person.email,
        "Validator",
        "--email",
        admin.email,
        "--password-stdin",
        "--json",
        stdin=admin.password + "\n",
    )
    assert _json(done)["role"] == "Validator"
