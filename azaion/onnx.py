"""Run a loaded model with ONNX Runtime: the plaintext goes from the loader to the runtime in memory.

    >>> from azaion import ApiClient
    >>> from azaion.onnx import load_session
    >>> with ApiClient(url) as client:
    ...     client.set_credentials_from_dict(email, password)
    ...     session = load_session(client, "detector.onnx", "models")
    >>> outputs = session.run(None, {"input": frame})

Optional: ``pip install 'azaion[onnx]'`` brings ``onnxruntime`` and ``numpy``. ONNX Runtime
builds a session from ``bytes`` (not ``bytearray`` or ``memoryview``), which is what
``ApiClient.load_big_small_resource`` returns, so no file of the decrypted model is ever made.
Plain Python on purpose: it holds no key and no secret, only the call sequence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from azaion.errors import ModelError, ModelRuntimeMissing

if TYPE_CHECKING:
    import onnxruntime  # type: ignore[import-untyped, unused-ignore]

    from azaion.api_client import ApiClient

__all__ = ["load_session", "session_from_bytes"]


def _runtime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        pass
    else:
        return onnxruntime
    # Raised outside the except block: no ImportError chained to it.
    raise ModelRuntimeMissing(
        "onnxruntime is not installed: pip install 'azaion[onnx]' (or onnxruntime-gpu) to run models"
    )


def session_from_bytes(model: bytes, **session_options: Any) -> onnxruntime.InferenceSession:
    """An ``onnxruntime.InferenceSession`` of a model held in memory.

    ``session_options`` go to ``InferenceSession`` (``sess_options``, ``providers``,
    ``provider_options``). Raises :class:`~azaion.errors.ModelError` when the bytes are no model
    ONNX Runtime accepts, or when ``sess_options`` would write the optimized model (the
    plaintext) to a file; :class:`~azaion.errors.ModelRuntimeMissing` without onnxruntime.
    """
    if not isinstance(model, bytes):
        raise ModelError(f"a model is bytes (ONNX Runtime takes nothing else), not {type(model).__name__}")
    runtime = _runtime()
    options = session_options.get("sess_options")
    written_to = getattr(options, "optimized_model_filepath", None) if options is not None else None
    if written_to:
        raise ModelError(
            "sess_options.optimized_model_filepath is set: ONNX Runtime would write the decrypted model "
            "to that file; leave it empty"
        )
    failure: Optional[str] = None
    try:
        session = runtime.InferenceSession(model, **session_options)
    except Exception as e:  # ORT raises its own classes (InvalidProtobuf, Fail, ...)
        first_line = (str(e).strip().splitlines() or [""])[0][:300]
        failure = f"{type(e).__name__}: {first_line}"
    else:
        return session
    finally:
        del model
    # Outside the except block: no __context__, so no traceback frame holding the plaintext.
    raise ModelError(
        f"ONNX Runtime refused the model ({failure}); check that the resource is an ONNX model for "
        "this runtime's opset and execution providers"
    )


def load_session(
    client: ApiClient, name: str, folder: str, **session_options: Any
) -> onnxruntime.InferenceSession:
    """Load resource ``folder/name`` through ``client`` and return an ONNX Runtime session of it.

    The model is fetched and decrypted by ``client.load_big_small_resource`` (the big part from
    the cache when it is there) and handed to ONNX Runtime as ``bytes``: no plaintext file.
    ``session_options`` go to ``onnxruntime.InferenceSession`` (see :func:`session_from_bytes`).
    Raises what the load raises (:class:`~azaion.errors.AzaionError` subclasses) and
    :class:`~azaion.errors.ModelError` for bytes that are no runnable model.
    """
    _runtime()  # before the download: a missing runtime should not cost a model's transfer
    return session_from_bytes(client.load_big_small_resource(name, folder), **session_options)
