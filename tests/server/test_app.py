"""The application as a whole: health, docs, and the one mapping from errors to answers."""

from __future__ import annotations

import logging

import pytest
from azaion_server.app import create_app
from fastapi import APIRouter

from tests.server.helpers import assert_error


def test_health(client) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_docs_and_openapi(client) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/login",
        "/logout",
        "/health",
        "/users",
        "/users/{user_id}/role",
        "/users/{user_id}/license",
        "/users/{user_id}/hardware",
        "/users/{user_id}",
        "/license/validate",
        "/license/info",
        "/resources/get/{folder}",
        "/resources/{folder}",
        "/resources/{folder}/{name}",
        "/resources/{folder}/{name}/publish",
        "/auth",
        "/auth_verify",
        "/clients",
        "/clients/{client_name}/enabled",
        "/clients/{client_name}/license",
        "/clients/{client_name}/hardware",
        "/clients/{client_name}",
        "/events",
    } <= paths
    assert {"post", "put"} <= set(schema["paths"]["/resources/{folder}"])
    upload = schema["paths"]["/resources/{folder}"]["post"]["requestBody"]["content"]
    assert "data" in upload["multipart/form-data"]["schema"]["properties"]


def test_unknown_route_and_method(client) -> None:
    assert_error(client.get("/no/such/route"), 404, "NOT_FOUND")
    assert_error(client.get("/login"), 405, "METHOD_NOT_ALLOWED")


def test_validation_errors_are_400_and_name_the_field_not_the_value(client) -> None:
    body = assert_error(
        client.post("/login", json={"email": "a@b.c", "password": "s" * 70000}), 400, "BAD_REQUEST"
    )
    assert "password" in body["message"]
    assert "sss" not in body["message"]
    body = assert_error(client.post("/login", json=[]), 400, "BAD_REQUEST")
    assert body["message"].startswith("invalid request")


def test_unexpected_exceptions_are_500_without_detail(make_settings, clean_db, caplog) -> None:
    from fastapi.testclient import TestClient

    app = create_app(make_settings())
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("internal detail /etc/secret-path")

    app.include_router(router)
    caplog.set_level(logging.ERROR)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    body = assert_error(response, 500, "INTERNAL")
    assert body == {"success": False, "code": "INTERNAL", "message": "internal server error"}
    assert "secret-path" not in response.text
    assert "RuntimeError" in caplog.text  # logged, with its traceback, for the operator


def test_starlette_errors_of_other_statuses(make_settings, clean_db) -> None:
    from fastapi import HTTPException
    from fastapi.testclient import TestClient

    app = create_app(make_settings())
    router = APIRouter()

    @router.get("/teapot")
    def teapot() -> None:
        raise HTTPException(status_code=418)

    @router.get("/unavailable")
    def unavailable() -> None:
        raise HTTPException(status_code=503, detail="db host 10.1.2.3 down")

    app.include_router(router)
    with TestClient(app) as client:
        assert_error(client.get("/teapot"), 418, "BAD_REQUEST")
        body = assert_error(client.get("/unavailable"), 503, "BAD_REQUEST")
        assert "10.1.2.3" not in body["message"]


def test_admin_bootstrap_happens_once(make_client) -> None:
    first = make_client()
    second = make_client(admin_email="other@example.com", admin_password="other-password")
    users = first.post("/login", json={"email": "admin@example.com", "password": "admin-password"})
    assert users.status_code == 200
    assert_error(
        second.post("/login", json={"email": "other@example.com", "password": "other-password"}),
        401,
        "INVALID_CREDENTIALS",
    )


def test_no_admin_without_settings(make_client) -> None:
    client = make_client(admin_email=None, admin_password=None)
    assert client.get("/health").status_code == 200
    assert_error(
        client.post("/login", json={"email": "admin@example.com", "password": "admin-password"}),
        401,
        "INVALID_CREDENTIALS",
    )


def test_create_app_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, database_url, clean_db, tmp_path
) -> None:
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AZAION_JWT_SECRET", "e" * 40)
    monkeypatch.setenv("AZAION_CLIENT_KEY_SECRET", "k" * 40)
    monkeypatch.setenv("AZAION_DATABASE_URL", database_url)
    monkeypatch.setenv("AZAION_ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("AZAION_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("AZAION_ARGON2_PARALLELISM", "1")
    monkeypatch.setenv("AZAION_ADMIN_EMAIL", "env@example.com")
    monkeypatch.setenv("AZAION_ADMIN_PASSWORD", "env-password")
    monkeypatch.setenv("AZAION_DATA_DIR", str(tmp_path))
    with TestClient(create_app()) as client:
        assert (
            client.post("/login", json={"email": "env@example.com", "password": "env-password"}).status_code
            == 200
        )


def test_sqlite_default_creates_the_data_dir(tmp_path) -> None:
    from azaion_server.settings import Settings
    from fastapi.testclient import TestClient

    settings = Settings.load(
        jwt_secret="d" * 40,
        client_key_secret="k" * 40,
        data_dir=tmp_path / "new" / "dir",
        argon2_memory_kib=8,
        argon2_parallelism=1,
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
    assert (tmp_path / "new" / "dir" / "azaion.db").is_file()


def test_large_json_bodies_are_refused_unread(client) -> None:
    huge = b'{"email": "a@b.c", "password": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = client.post("/login", content=huge, headers={"Content-Type": "application/json"})
    assert_error(response, 413, "TOO_LARGE")

    def chunks():
        yield b'{"email": "a@b.c", "password": "'
        for _ in range(300):
            yield b"x" * 10_000
        yield b'"}'

    response = client.post("/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(response, 400, "BAD_REQUEST")
    assert client.get("/health").status_code == 200


def test_405_lists_every_method_of_the_path(client) -> None:
    for path, allowed in [
        ("/resources/models/m.bin", "DELETE, GET"),
        ("/users", "GET, POST"),
        ("/resources/models", "POST, PUT"),
        ("/health", "GET"),
    ]:
        response = client.options(path)
        assert_error(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["Allow"] == allowed
    assert "Allow" not in client.get("/no/such/route").headers


def test_openapi_documents_the_errors_the_server_gives(client) -> None:
    schema = client.get("/openapi.json").json()
    assert "Error" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert "422" not in operation["responses"]
            assert {"400", "401", "403", "404", "413", "429", "500"} <= set(operation["responses"])
    assert client.get("/openapi.json").json() == schema  # made once
