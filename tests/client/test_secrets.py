"""No password, key or token in a log line, an exception or a repr."""

from __future__ import annotations

import logging
import os

import pytest

import azaion
from tests.client.conftest import EMAIL, PASSWORD


def test_debug_logs_hold_no_secret(api, api_url, caplog):
    caplog.set_level(logging.DEBUG)
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict(EMAIL, PASSWORD)
        c.upload_big_small_resource(os.urandom(5000), "m.bin", "models")
        c.load_big_small_resource("m.bin", "models")
        token = c.token
        with pytest.raises(azaion.ResourceNotFound):
            c.load_big_small_resource("absent.bin", "models")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/resources/get/models" in text  # the client does log its calls
    for secret in (PASSWORD, token, api.s3.uploader_secret, api.s3.downloader_secret):
        assert secret not in text


@pytest.mark.parametrize("password", [PASSWORD, "wrong-pass-word"])
def test_errors_hold_no_secret(api, api_url, password):
    with azaion.ApiClient(api_url) as c:
        try:
            c.set_credentials_from_dict(EMAIL, password)
            with pytest.raises(azaion.AzaionError) as info:
                c.load_big_small_resource("absent.bin", "models")
            error = info.value
        except azaion.AzaionError as e:
            error = e
    for text in (str(error), repr(error), str(error.__cause__), str(error.__context__)):
        assert password not in text


def test_network_error_hides_the_request(isolated_env):
    with azaion.ApiClient("http://127.0.0.1:9") as c, pytest.raises(azaion.NetworkError) as info:
        c.set_credentials_from_dict(EMAIL, PASSWORD)
    assert PASSWORD not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
