"""A one-node MatMul ONNX model: onnxruntime's own GEMM speed, the yardstick of the runtime benchmark.

`apps/cli/src/bench/bench-pipeline.ts` divides the key-frame U-Net's achieved FLOP/s by what
onnxruntime reaches on one large float32 MatMul in the same process with the same session
options. `activations [M, K] @ weights [K, N] -> product [M, N]`, the weights a constant
initializer as a U-Net's are (so onnxruntime pre-packs them the same way), drawn from a fixed
seed so the file is the same every time.

    python -m magicvideo_models.matmul_model --m 1024 --k 1024 --n 1024 --out .cache/bench/matmul.onnx
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET_VERSION = 17
# The IR version opset 17 came with: onnx 1.20 would write 14, which onnxruntime-node 1.30 refuses.
IR_VERSION = 8
INPUT_NAME = "activations"
OUTPUT_NAME = "product"


def matmul_model(m: int, k: int, n: int, seed: int = 0) -> onnx.ModelProto:
    """`product = activations @ weights`, activations [M, K] float32, weights [K, N] constant."""
    # scaled by 1/sqrt(K) so products stay near unit size
    weights = (np.random.default_rng(seed).standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", [INPUT_NAME, "weights"], [OUTPUT_NAME], name="matmul")],
        "matmul",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [m, n])],
        initializer=[numpy_helper.from_array(weights, "weights")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET_VERSION)], ir_version=IR_VERSION
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def matmul_flops(m: int, k: int, n: int) -> int:
    """One multiply and one add per term of each output element."""
    return 2 * m * k * n


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=1024)
    parser.add_argument("--k", type=int, default=1024)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(matmul_model(args.m, args.k, args.n), str(args.out))
    flops = matmul_flops(args.m, args.k, args.n)
    print(f"wrote {args.out}: [{args.m}, {args.k}] x [{args.k}, {args.n}], {flops:,} FLOPs")


if __name__ == "__main__":
    main()
