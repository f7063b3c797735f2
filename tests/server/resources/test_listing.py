"""`GET /resources` (the registry's filters) and `GET /resources/{folder}/{name}`."""

from __future__ import annotations

import time

import pytest

from tests.server.helpers import assert_error


@pytest.fixture
def catalogue(api):
    """Five resources: three published models, a draft, a dead map."""
    api.upload("models", "yolo-s.bin", b"s", category="detector")
    api.upload("models", "yolo-m.bin", b"m", category="detector")
    api.upload("models", "seg.bin", b"seg", category="segmenter")
    api.upload("models", "draft.bin", b"d", draft="true")
    api.upload("maps", "city.map", b"map")
    api.client.delete("/resources/maps/city.map", headers=api.admin)
    return api


def _names(response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["count"] == len(body["results"])
    return [r["name"] for r in body["results"]]


def test_admin_sees_everything_newest_first(catalogue) -> None:
    names = _names(catalogue.client.get("/resources", headers=catalogue.admin))
    assert names == ["city.map", "draft.bin", "seg.bin", "yolo-m.bin", "yolo-s.bin"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"folder": "models"}, {"yolo-s.bin", "yolo-m.bin", "seg.bin", "draft.bin"}),
        ({"name": "^yolo"}, {"yolo-s.bin", "yolo-m.bin"}),
        ({"name": "m"}, {"yolo-m.bin", "city.map"}),  # searched, not anchored
        ({"category": "detector"}, {"yolo-s.bin", "yolo-m.bin"}),
        ({"published": "false"}, {"draft.bin"}),
        ({"alive": "false"}, {"city.map"}),
        ({"alive": "true", "published": "true", "folder": "models"}, {"yolo-s.bin", "yolo-m.bin", "seg.bin"}),
        ({"since": "4102444800"}, set()),  # 2100
        ({"uploaded": "0"}, {"yolo-s.bin", "yolo-m.bin", "seg.bin", "draft.bin", "city.map"}),
    ],
)
def test_filters(catalogue, params: dict, expected: set) -> None:
    assert set(_names(catalogue.client.get("/resources", params=params, headers=catalogue.admin))) == expected


def test_id_since_and_count(catalogue) -> None:
    everything = catalogue.client.get("/resources", headers=catalogue.admin).json()["results"]
    seg = next(r for r in everything if r["name"] == "seg.bin")
    assert _names(catalogue.client.get("/resources", params={"id": seg["id"]}, headers=catalogue.admin)) == [
        "seg.bin"
    ]
    newer = _names(
        catalogue.client.get("/resources", params={"since": seg["modified"]}, headers=catalogue.admin)
    )
    assert newer == ["city.map", "draft.bin", "seg.bin"]
    assert len(_names(catalogue.client.get("/resources", params={"count": 2}, headers=catalogue.admin))) == 2
    assert len(_names(catalogue.client.get("/resources", params={"count": 0}, headers=catalogue.admin))) == 1
    assert (
        len(_names(catalogue.client.get("/resources", params={"count": 10**6}, headers=catalogue.admin))) == 5
    )


def test_what_each_role_sees(catalogue) -> None:
    api = catalogue
    validator = api.user("Validator")
    assert set(_names(api.client.get("/resources", headers=validator.headers))) == {
        "yolo-s.bin",
        "yolo-m.bin",
        "seg.bin",
        "draft.bin",
    }
    uploader = api.user("ResourceUploader")
    api.upload("models", "mine.bin", b"x", headers=uploader.headers, draft="true")
    api.upload("models", "mine-dead.bin", b"x", headers=uploader.headers)
    api.client.delete("/resources/models/mine-dead.bin", headers=api.admin)
    assert set(_names(api.client.get("/resources", headers=uploader.headers))) == {
        "yolo-s.bin",
        "yolo-m.bin",
        "seg.bin",
        "mine.bin",
        "mine-dead.bin",
    }
    operator = api.user("Operator")
    assert_error(api.client.get("/resources", headers=operator.headers), 403, "LICENSE_REQUIRED")
    api.set_license(operator, ["maps"])
    assert _names(api.client.get("/resources", headers=operator.headers)) == []
    assert_error(
        api.client.get("/resources", params={"folder": "models"}, headers=operator.headers),
        403,
        "FOLDER_NOT_LICENSED",
    )
    api.set_license(operator, ["models", "maps"])
    assert set(_names(api.client.get("/resources", headers=operator.headers))) == {
        "yolo-s.bin",
        "yolo-m.bin",
        "seg.bin",
    }


@pytest.mark.parametrize(
    "params",
    [
        {"name": "("},
        {"name": r"(a)\1"},
        {"name": "a" * 129},
        {"id": "x"},
        {"id": "99999999999999"},
        {"published": "maybe"},
        {"since": "yesterday"},
        {"since": "1e300"},
        {"unknown": "filter"},
    ],
)
def test_bad_filters(api, params: dict) -> None:
    assert_error(api.client.get("/resources", params=params, headers=api.admin), 400, "BAD_REQUEST")


def test_listing_needs_a_token(client) -> None:
    assert_error(client.get("/resources"), 401, "UNAUTHORIZED")


def test_resource_info(catalogue) -> None:
    api = catalogue
    response = api.client.get("/resources/models/seg.bin", headers=api.admin)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    resource = body["resource"]
    assert {
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
    } <= set(resource)
    assert (resource["name"], resource["size"], resource["category"]) == ("seg.bin", 3, "segmenter")
    assert isinstance(resource["uploaded"], float) and resource["uploaded"] <= time.time()
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    assert api.client.get("/resources/models/seg.bin", headers=operator.headers).status_code == 200
    assert_error(api.client.get("/resources/models/draft.bin", headers=operator.headers), 404, "NOT_FOUND")
    assert_error(
        api.client.get("/resources/maps/city.map", headers=operator.headers), 403, "FOLDER_NOT_LICENSED"
    )
    assert_error(api.client.get("/resources/models/nothing", headers=api.admin), 404, "NOT_FOUND")
    assert_error(api.client.get("/resources/models/.env", headers=api.admin), 400, "INVALID_NAME")


def test_patterns_mean_the_same_on_every_database(catalogue) -> None:
    # RE2 matches on both databases: PostgreSQL's own dialect (which refuses `(?P<x>...)`) is not used.
    api = catalogue
    response = api.client.get("/resources", params={"name": "(?P<x>yolo)-[sm]"}, headers=api.admin)
    assert set(_names(response)) == {"yolo-s.bin", "yolo-m.bin"}
    assert api.client.get("/resources", headers=api.admin).status_code == 200  # the session recovered
