"""The download hot path: small parts from memory, keyed by version; few queries per download."""

from __future__ import annotations

from typing import Any

import pytest
from azaion_server.resources.smallparts import CachedStorage
from sqlalchemy import event, update

from tests.reference import envelope as reference
from tests.server.helpers import HW1, Api, assert_error


class CountingStore:
    """A store that counts its reads and hands out what it is told."""

    def __init__(self) -> None:
        self.reads = 0
        self.data: dict[tuple[int, str], bytes] = {}

    def new_buffer(self, limit: int) -> Any:
        raise NotImplementedError

    def save(self, session: Any, resource: Any, buffer: Any) -> None:
        raise NotImplementedError

    def after_commit(self, resource: Any) -> None:
        pass

    def read(self, session: Any, resource: Any) -> bytes:
        self.reads += 1
        return self.data[(resource.id, resource.checksum)]


class Version:
    def __init__(self, id_: int, checksum: str) -> None:
        self.id, self.checksum = id_, checksum


def test_a_version_is_read_once_and_a_new_version_misses() -> None:
    store = CountingStore()
    cache = CachedStorage(store, 1 << 20)
    store.data[(1, "a" * 64)] = b"first"
    store.data[(1, "b" * 64)] = b"second"
    assert [cache.read(None, Version(1, "a" * 64)) for _ in range(3)] == [b"first"] * 3  # type: ignore[arg-type]
    assert store.reads == 1 and cache.hits == 2
    assert cache.read(None, Version(1, "b" * 64)) == b"second"  # type: ignore[arg-type]
    assert store.reads == 2


def test_the_cache_is_bounded_in_bytes() -> None:
    store = CountingStore()
    cache = CachedStorage(store, 8 * 1024)
    for i in range(100):
        store.data[(i, "c" * 64)] = bytes(1000)
        cache.read(None, Version(i, "c" * 64))  # type: ignore[arg-type]
    assert cache.cached_bytes <= 8 * 1024
    store.data[(999, "d" * 64)] = bytes(2000)  # over an eighth of the bound: never kept
    for _ in range(2):
        cache.read(None, Version(999, "d" * 64))  # type: ignore[arg-type]
    assert store.reads == 102
    assert CachedStorage(store, 0).read(None, Version(999, "d" * 64)) == bytes(2000)  # type: ignore[arg-type]


@pytest.mark.parametrize("storage", ["db", "files"])
def test_a_new_upload_is_served_at_once(make_client, tmp_path, storage: str) -> None:
    api = Api(make_client(storage=storage, storage_dir=tmp_path / "store"))
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    api.upload("models", "m.bin", b"version one")
    keys = reference.user_keys(operator.email, operator.password, HW1)
    for _ in range(2):
        assert reference.open_(keys, api.get(operator, "models", "m.bin").content) == b"version one"
    api.upload("models", "m.bin", b"version two")
    assert reference.open_(keys, api.get(operator, "models", "m.bin").content) == b"version two"
    # Withdrawn and deleted resources are not served from memory either: the row says so.
    api.client.post("/resources/models/m.bin/publish", json={"published": False}, headers=api.admin)
    assert_error(api.get(operator, "models", "m.bin"), 404, "NOT_FOUND")


def test_a_repeated_download_costs_two_queries(client, db_engine) -> None:
    """Caller, licence and revocation in one query, the resource's row in another; no blob."""
    api = Api(client)
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    api.upload("models", "m.bin", b"model bytes")
    assert api.get(operator, "models", "m.bin").status_code == 200  # binds the machine, caches
    engine = client.app.state.context.engine
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert api.get(operator, "models", "m.bin").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, statements
    assert "revoked_tokens" in selects[0] and "licenses" in selects[0]
    # A logout still applies at once: the one query asks for the revocation every time.
    assert client.post("/logout", headers=operator.headers).status_code == 200
    assert_error(api.get(operator, "models", "m.bin"), 401, "UNAUTHORIZED")


def test_a_licence_change_applies_to_the_next_download(api, clean_db) -> None:
    from azaion_server.licenses.entities import License

    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    api.upload("models", "m.bin", b"x")
    assert api.get(operator, "models", "m.bin").status_code == 200
    with clean_db.begin() as connection:  # as another instance would: straight in the database
        connection.execute(update(License).values(folders=["other"]))
    assert_error(api.get(operator, "models", "m.bin"), 403, "FOLDER_NOT_LICENSED")
