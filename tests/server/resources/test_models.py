"""Resource logic below the routes: the upload race, unknown roles, storage paths."""

from __future__ import annotations

import pytest
from azaion_server.resources import models
from azaion_server.resources.exceptions import StorageCorrupt
from azaion_server.resources.storage import FileStorage
from azaion_server.users.entities import User
from sqlalchemy import false, update

from tests.server.helpers import Api, assert_error


def test_two_first_uploads_of_one_name_race(api, monkeypatch: pytest.MonkeyPatch) -> None:
    first = api.upload("models", "race.bin", b"first").json()["resource"]
    real_select = models.select
    calls = []

    def stale_select(*entities):
        # The first look finds nothing, as if the other upload had not committed yet.
        calls.append(1)
        statement = real_select(*entities)
        return statement.where(false()) if len(calls) == 1 else statement

    monkeypatch.setattr(models, "select", stale_select)
    response = api.upload("models", "race.bin", b"second")
    assert response.status_code == 201, response.text
    second = response.json()["resource"]
    assert second["id"] == first["id"] and second["size"] == len(b"second")
    assert len(calls) == 2


def test_an_unknown_role_may_do_nothing(api, clean_db) -> None:
    person = api.user("Validator")
    api.upload("models", "m.bin", b"data")
    with clean_db.begin() as connection:
        connection.execute(update(User).where(User.id == person.id).values(role="Ghost"))
    assert api.client.get("/resources", headers=person.headers).json()["results"] == []
    assert_error(api.get(person, "models", "m.bin"), 404, "NOT_FOUND")
    assert_error(api.client.get("/users", headers=person.headers), 403, "FORBIDDEN")
    assert_error(api.upload("models", "x.bin", b"x", headers=person.headers), 403, "FORBIDDEN")


def test_file_storage_paths_stay_under_the_root(tmp_path) -> None:
    storage = FileStorage(tmp_path / "root")
    assert "root" in repr(storage)
    assert storage._path(7, "a" * 64) == (tmp_path / "root" / "7" / ("a" * 64)).resolve()
    for checksum in ["../../etc/passwd", "A" * 64, "a" * 63, "/" + "a" * 63]:
        with pytest.raises(StorageCorrupt):
            storage._path(7, checksum)


def test_upload_buffer_is_discarded_on_refusal(make_client, tmp_path) -> None:
    api = Api(make_client(storage="files", storage_dir=tmp_path / "store", max_upload_bytes=10))
    assert api.upload("models", "big.bin", b"x" * 11).status_code == 413
    person = api.user("ResourceUploader")
    api.upload("models", "m.bin", b"x")
    assert api.upload("models", "m.bin", b"y", headers=person.headers).status_code == 403
    assert list((tmp_path / "store" / ".tmp").iterdir()) == []
