"""azaion.onnx against the real server: a published ONNX model runs from the loaded bytes.

The model is a real network (build_tools/demo_model.py, made with onnx's helpers); its outputs
through load_session must equal those of the original bytes. Bytes that are no model, and
session options that would write the plaintext to a file, are ModelErrors with their codes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import onnxruntime
import pytest

from azaion.errors import AzaionError, ModelError, ResourceNotFound
from azaion.onnx import load_session, session_from_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "build_tools"))
import demo_model  # noqa: E402

FOLDER = "models"


@pytest.fixture(scope="module")
def model() -> bytes:
    return demo_model.make_model(1)


def test_a_published_model_runs_from_the_loaded_bytes(make_account, connect, model, tmp_path):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    connect(uploader, cache="uploader").upload_big_small_resource(model, "mlp.onnx", FOLDER)
    client = connect(operator, device="onnx-device", cache="operator")
    before = set(tmp_path.rglob("*"))
    session = load_session(client, "mlp.onnx", FOLDER)
    assert isinstance(session, onnxruntime.InferenceSession)
    expected = demo_model.run(onnxruntime.InferenceSession(model))
    assert demo_model.run(session) == expected  # same machine, same kernels: bit for bit
    assert sum(expected) == pytest.approx(1.0, abs=1e-5)
    # Warm (the big part from the cache) the same; no file of the plaintext anywhere under the
    # test's folder (the cache holds the big part, which is ciphertext).
    assert demo_model.run(load_session(client, "mlp.onnx", FOLDER)) == expected
    for path in set(tmp_path.rglob("*")) - before:
        if path.is_file():
            assert model[:4096] not in path.read_bytes(), path


def test_a_resource_that_is_no_model_is_a_model_error(make_account, connect):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    connect(uploader, cache="uploader").upload_big_small_resource(os.urandom(5000), "noise.onnx", FOLDER)
    with pytest.raises(ModelError) as caught:
        load_session(connect(operator, cache="operator"), "noise.onnx", FOLDER)
    assert caught.value.code == "MODEL_INVALID"
    assert isinstance(caught.value, (AzaionError, ValueError))
    assert caught.value.__context__ is None and caught.value.__cause__ is None  # no frame with the bytes


def test_a_missing_resource_is_the_loaders_error(make_account, connect):
    with pytest.raises(ResourceNotFound):
        load_session(connect(make_account("Operator")), "absent.onnx", FOLDER)


def test_options_that_would_write_the_model_to_disk_are_refused(model, tmp_path):
    options = onnxruntime.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    with pytest.raises(ModelError, match="optimized_model_filepath"):
        session_from_bytes(model, sess_options=options)
    assert not (tmp_path / "optimized.onnx").exists()
    session = session_from_bytes(
        model, sess_options=onnxruntime.SessionOptions(), providers=["CPUExecutionProvider"]
    )
    assert session.get_providers() == ["CPUExecutionProvider"]


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_only_bytes_are_a_model(model, kind):
    with pytest.raises(ModelError, match="bytes"):
        session_from_bytes(kind(model))
