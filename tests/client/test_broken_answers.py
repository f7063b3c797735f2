"""An answer broken off mid-body is retried like a refused connection, for idempotent calls only.

The scripted API (tests/client/fake_api.py) sends an answer's headers and half its body, then
closes ("short") or resets the connection, on cue.
"""

from __future__ import annotations

import os

import pytest

import azaion
from tests.client.conftest import EMAIL, PASSWORD

MODES = ["short", "reset"]


@pytest.mark.parametrize("mode", MODES)
def test_a_cut_small_part_answer_is_retried(client, api, mode):
    data = os.urandom(50_000)
    client.upload_big_small_resource(data, "cut.bin", "models")
    gets = api.calls["get"]
    api.breaks.append(("get", mode))
    assert client.load_big_small_resource("cut.bin", "models") == data
    assert api.calls["get"] == gets + 2


@pytest.mark.parametrize("mode", MODES)
def test_a_cut_login_answer_is_retried(api, api_url, mode):
    api.breaks.append(("login", mode))
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict(EMAIL, PASSWORD)
        assert c.is_authenticated()
    assert api.calls["login"] == 2


def test_answers_cut_every_time_give_up_after_the_policys_retries(client, api):
    client.upload_big_small_resource(b"model", "cut.bin", "models")
    gets = api.calls["get"]
    api.breaks.extend([("get", "reset")] * 10)
    with pytest.raises(azaion.NetworkError) as info:
        client.load_big_small_resource("cut.bin", "models")
    assert "broke off in the middle of an answer" in str(info.value)
    assert api.calls["get"] == gets + 3  # AZAION_MAX_RETRIES=2, as for a refused connection


def test_a_cut_upload_answer_is_not_retried(client, api):
    api.breaks.append(("upload", "reset"))
    with pytest.raises(azaion.NetworkError):
        client.upload_big_small_resource(b"model", "up.bin", "models")
    assert api.calls["upload"] == 1
