"""Every error code the server can answer is one the client knows (its ERRORS_BY_CODE).

The codes are read from the server's source (azaion_server): each `code = "..."` of an error
class with its `status`, each literal `code="..."` argument, and each table named `*_CODES`
(status: code). For each one, a loopback server answers a login with that code and status; the
client's exception must carry the server's code, not the fallback it uses for unknown codes.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from werkzeug import Response

import azaion

SERVER = Path(__file__).resolve().parents[2] / "server" / "src" / "azaion_server"


def literal(node: ast.AST):
    return node.value if isinstance(node, ast.Constant) else None


def server_codes() -> dict[str, int]:
    """code -> an HTTP status the server answers it with."""
    codes: dict[str, int] = {}
    for path in sorted(SERVER.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                fields = {
                    target.id: literal(item.value)
                    for item in node.body
                    if isinstance(item, (ast.Assign, ast.AnnAssign))
                    for target in (item.targets if isinstance(item, ast.Assign) else [item.target])
                    if isinstance(target, ast.Name) and item.value is not None
                }
                if isinstance(fields.get("code"), str):
                    codes.setdefault(fields["code"], fields.get("status") or 400)
            elif isinstance(node, ast.Call):
                given = {k.arg: literal(k.value) for k in node.keywords}
                if isinstance(given.get("code"), str):
                    codes.setdefault(given["code"], given.get("status") or 400)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if any(name.endswith("_CODES") for name in names):
                    for key, value in zip(node.value.keys, node.value.values):
                        if isinstance(literal(key), int) and isinstance(literal(value), str):
                            codes.setdefault(literal(value), literal(key))
    return codes


CODES = server_codes()


def test_the_server_source_was_read():
    assert {"INVALID_CREDENTIALS", "HARDWARE_MISMATCH", "TOO_MANY_STREAMS", "INTERNAL"} <= set(CODES)


@pytest.mark.parametrize(("code", "status"), sorted(CODES.items()))
def test_the_client_knows_the_servers_code(httpserver, isolated_env, monkeypatch, code, status):
    monkeypatch.setenv("AZAION_MAX_RETRIES", "0")
    body = json.dumps({"success": False, "code": code, "message": "refused"})
    httpserver.expect_request("/login").respond_with_response(
        Response(body, status=status, content_type="application/json")
    )
    url = httpserver.url_for("").rstrip("/")
    with azaion.ApiClient(url) as client, pytest.raises(azaion.AzaionError) as info:
        client.set_credentials_from_dict("someone@example.com", "password")
    assert info.value.code == code, f"the client does not know {code} (HTTP {status})"
    assert info.value.status == status
