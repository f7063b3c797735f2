"""A small real ONNX network made at run time (no download): for `make run` and the aarch64 device.

``make_model(weights_mib)`` builds, with ``onnx.helper``, a multilayer perceptron
``x[1, width] -> (MatMul, Add, Relu) x LAYERS -> MatMul -> Softmax -> y[1, CLASSES]`` whose
float32 weights take about ``weights_mib`` MiB, from a fixed seed (the same bytes every time).
Opset 13 and IR version 8, so that the oldest ONNX Runtime the devices run (1.16+) loads it.
``sample_input`` is the input the checks feed it. Needs ``onnx`` and ``numpy`` (the build side);
the device needs only ``onnxruntime`` and ``numpy`` to run the result.
"""

from __future__ import annotations

import math

LAYERS = 3
CLASSES = 10
INPUT_NAME = "x"
OUTPUT_NAME = "y"
SEED = 20260217


def width_for(weights_mib: float) -> int:
    """The layer width whose LAYERS square float32 matrices take about ``weights_mib`` MiB."""
    return max(16, int(math.sqrt(weights_mib * 2**20 / (4 * LAYERS))))


def make_model(weights_mib: float) -> bytes:
    """The serialized ONNX model (bytes) with about ``weights_mib`` MiB of weights."""
    import numpy as np
    from onnx import TensorProto, checker, helper, numpy_helper

    width = width_for(weights_mib)
    rng = np.random.default_rng(SEED)
    nodes, initializers = [], []
    current = INPUT_NAME
    for i in range(LAYERS):
        weight = (rng.standard_normal((width, width)) / math.sqrt(width)).astype(np.float32)
        bias = (rng.standard_normal(width) * 0.1).astype(np.float32)
        initializers += [numpy_helper.from_array(weight, f"w{i}"), numpy_helper.from_array(bias, f"b{i}")]
        nodes += [
            helper.make_node("MatMul", [current, f"w{i}"], [f"m{i}"]),
            helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"]),
            helper.make_node("Relu", [f"a{i}"], [f"h{i}"]),
        ]
        current = f"h{i}"
    head = (rng.standard_normal((width, CLASSES)) / math.sqrt(width)).astype(np.float32)
    initializers.append(numpy_helper.from_array(head, "head"))
    nodes += [
        helper.make_node("MatMul", [current, "head"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [OUTPUT_NAME], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "azaion-demo-mlp",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, width])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [1, CLASSES])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    model.producer_name = "azaion build_tools/demo_model.py"
    checker.check_model(model)
    return model.SerializeToString()


def sample_input(width: int):
    """The fixed input the checks run: float32 [1, width]."""
    import numpy as np

    return np.random.default_rng(SEED + 1).standard_normal((1, width)).astype(np.float32)


def run(session) -> list[float]:
    """The model's output for ``sample_input`` with an ``onnxruntime.InferenceSession``."""
    width = session.get_inputs()[0].shape[1]
    (output,) = session.run([OUTPUT_NAME], {INPUT_NAME: sample_input(width)})
    return [float(v) for v in output.reshape(-1)]
