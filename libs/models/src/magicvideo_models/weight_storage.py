"""Weights stored as float16 in the ONNX file, computed in float32.

Shipped model folders must stay small (the tiny set ≤ 25 MB), and CPU inference wants float32
arithmetic. So the exporter rounds every parameter to the nearest float16 *before* tracing
(PyTorch and ONNX then compute with the same values, and parity stays exact), and afterwards
stores each large float32 initializer as float16 followed by a `Cast` to float32. onnxruntime
folds those casts into constants when it builds the session, so they cost nothing per run.
"""

from __future__ import annotations

import copy

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

# Small tensors (norm scales, biases of narrow layers) are not worth a Cast node each.
MIN_ELEMENTS_FOR_FLOAT16 = 256
FLOAT16_SUFFIX = "__float16"


def with_float16_representable_parameters(module: nn.Module) -> nn.Module:
    """A copy of `module` whose floating-point parameters are rounded to float16 precision."""
    rounded = copy.deepcopy(module)
    with torch.no_grad():
        for parameter in rounded.parameters():
            if parameter.is_floating_point():
                parameter.copy_(parameter.to(torch.float16).to(parameter.dtype))
    return rounded


def store_initializers_as_float16(
    model: onnx.ModelProto, min_elements: int = MIN_ELEMENTS_FOR_FLOAT16
) -> onnx.ModelProto:
    """Replace each float32 initializer that float16 represents exactly by float16 + Cast.

    Initializers that float16 would change (constants the exporter folded from several
    parameters, or values out of float16's range) stay float32, so the graph computes exactly
    what it did before.
    """
    graph = model.graph
    kept: list[onnx.TensorProto] = []
    casts: list[onnx.NodeProto] = []
    for initializer in graph.initializer:
        is_float32 = initializer.data_type == onnx.TensorProto.FLOAT
        values = numpy_helper.to_array(initializer) if is_float32 else None
        if values is None or values.size < min_elements or not _float16_exact(values):
            kept.append(initializer)
            continue
        stored_name = initializer.name + FLOAT16_SUFFIX
        kept.append(numpy_helper.from_array(values.astype(np.float16), stored_name))
        cast = helper.make_node("Cast", [stored_name], [initializer.name], to=onnx.TensorProto.FLOAT)
        cast.name = f"Cast_{stored_name}"
        casts.append(cast)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def _float16_exact(values: np.ndarray) -> bool:
    with np.errstate(over="ignore"):
        return bool(np.array_equal(values.astype(np.float16).astype(np.float32), values))
