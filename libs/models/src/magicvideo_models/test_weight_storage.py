import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from .weight_storage import store_initializers_as_float16, with_float16_representable_parameters


def _matmul_model(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """x [1, 64] -> x @ w0 @ w1 ..., one initializer per weight."""
    nodes, current = [], "x"
    for index, name in enumerate(weights):
        nodes.append(helper.make_node("MatMul", [current, name], [f"y{index}"]))
        current = f"y{index}"
    graph = helper.make_graph(
        nodes,
        "matmuls",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info(current, TensorProto.FLOAT, [1, 64])],
        [numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_float16_storage_halves_the_weights_and_keeps_the_outputs():
    rng = np.random.default_rng(0)
    representable = rng.standard_normal((64, 64)).astype(np.float16).astype(np.float32)
    model = _matmul_model({"w": representable})
    x = rng.standard_normal((1, 64)).astype(np.float32)
    expected = _run(model, x)
    size_before = model.ByteSize()

    stored = store_initializers_as_float16(model)

    assert [i.data_type for i in stored.graph.initializer] == [TensorProto.FLOAT16]
    assert stored.graph.node[0].op_type == "Cast"
    assert stored.ByteSize() < 0.6 * size_before
    onnx.checker.check_model(stored, full_check=True)
    np.testing.assert_array_equal(_run(stored, x), expected)


def test_weights_float16_would_change_stay_float32():
    rng = np.random.default_rng(1)
    exact = rng.standard_normal((64, 64)).astype(np.float16).astype(np.float32)
    inexact = exact + np.float32(1e-5)  # between float16 neighbours
    stored = store_initializers_as_float16(_matmul_model({"a": exact, "b": inexact}))
    dtypes = {i.name: i.data_type for i in stored.graph.initializer}
    assert dtypes == {"a__float16": TensorProto.FLOAT16, "b": TensorProto.FLOAT}


def test_rounding_parameters_leaves_the_original_module_alone():
    torch.manual_seed(0)
    module = nn.Linear(8, 8)
    original = module.weight.detach().clone()
    rounded = with_float16_representable_parameters(module)
    assert torch.equal(module.weight, original)
    assert not torch.equal(rounded.weight, original)
    assert torch.equal(rounded.weight, rounded.weight.half().float())
