"""Export one model to ONNX under the model-folder contract, and prove the file equals PyTorch.

Exporter choice: the TorchScript-based exporter (`torch.onnx.export(..., dynamo=False)`). On
diffusers blocks it exports a tiny U-Net in about half a second where the torch.export-based
exporter takes about ten (it matters on a 2-core machine that exports in its tests), it has
exported Stable Diffusion for years (optimum's ONNX path), and two exports of the same weights
give byte-identical files. It is deprecated upstream; moving to `dynamo=True` means replacing
`dynamic_axes` by `dynamic_shapes` in `export_onnx` and nothing else here.

Every export is staged in a temporary folder and re-saved with `onnx.save_model`, so a model
over 2 GB (only `base`) gets one `model.onnx.data` file beside it rather than the legacy
exporter's one file per tensor. Then `onnx.checker` checks it and `onnxruntime` runs it on the
model's example inputs at batch 1 and 2, and on resized inputs for every other dynamic axis,
against PyTorch: the relative error max|a-b| / max|b| must stay within the tolerance.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from .contract import load_contract
from .weight_storage import store_initializers_as_float16, with_float16_representable_parameters

OPSET_VERSION = 18
PARITY_TOLERANCE = 1e-4
# protobuf cannot serialise a message over 2 GiB; stay clear of the limit.
EXTERNAL_DATA_THRESHOLD_BYTES = 1_800_000_000
EXTERNAL_DATA_FILE = "model.onnx.data"


# Which of the contract's symbolic dimensions each exported model leaves dynamic. The others
# are fixed by the weights: the key-frame adaptor has one scale per frame (F = 16), position
# embeddings fix L = 77 and the image size S, the interpolation U-Net always makes 3 frames.
DYNAMIC_DIMS: dict[str, frozenset[str]] = {
    "text_encoder": frozenset({"B"}),
    "image_encoder": frozenset({"B"}),
    "unet": frozenset({"B"}),
    "interp_unet": frozenset({"B"}),
    "vae_encoder": frozenset({"B", "H", "W", "h", "w"}),
    "vae_decoder": frozenset({"B", "F", "h", "w", "H", "W"}),
    "sr_unet": frozenset({"B", "H", "W"}),
}

InputsForBatch = Callable[[int], dict[str, torch.Tensor]]


class OnnxExportError(RuntimeError):
    """The exported file is not valid ONNX, breaks the contract, or differs from PyTorch."""


@dataclass(frozen=True)
class ParityCheck:
    """One comparison of onnxruntime against PyTorch on the same inputs."""

    label: str  # "batch 1", "batch 2", "F=8", ...
    relative_error: float  # max|onnx - torch| / max|torch|


@dataclass(frozen=True)
class ExportReport:
    name: str
    path: Path
    file_bytes: int  # model.onnx plus its external data, if any
    parameters: int  # elements of the file's initializers
    seconds: float
    parity: list[ParityCheck] = field(default_factory=list)

    @property
    def worst_relative_error(self) -> float:
        return max((p.relative_error for p in self.parity), default=0.0)


def tensor_names(model_name: str, contract: dict | None = None) -> tuple[list[str], list[str]]:
    """The contract's input and output names of one model, in order."""
    spec = _model_spec(model_name, contract)
    return [t["name"] for t in spec["inputs"]], [t["name"] for t in spec["outputs"]]


def dynamic_axes_for(model_name: str, contract: dict | None = None) -> dict[str, dict[int, str]]:
    """`dynamic_axes` for the TorchScript exporter: the contract's symbolic names of the
    dimensions this model leaves dynamic, so the ONNX file carries the contract's dim names."""
    spec = _model_spec(model_name, contract)
    dynamic = DYNAMIC_DIMS[model_name]
    axes: dict[str, dict[int, str]] = {}
    for tensor in [*spec["inputs"], *spec["outputs"]]:
        named = {i: d for i, d in enumerate(tensor["shape"]) if isinstance(d, str) and d in dynamic}
        if named:
            axes[tensor["name"]] = named
    return axes


def export_onnx(
    model_name: str,
    module: nn.Module,
    inputs_for_batch: InputsForBatch,
    out_path: Path,
    *,
    contract: dict | None = None,
    tolerance: float = PARITY_TOLERANCE,
    external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES,
    compare_with_pytorch: bool = True,
    float16_weights: bool = False,
) -> ExportReport:
    """Export `module` (a contract model, `model_name`) to `out_path` and check it.

    `inputs_for_batch(b)` gives the example inputs at batch size b, keyed by the forward's
    argument names in forward order (each model file's `example_inputs(config, b)`).
    Raises OnnxExportError when the file fails the checker or differs from PyTorch.
    `compare_with_pytorch=False` skips the onnxruntime runs (a second export of checked weights).
    `float16_weights=True` stores the weights as float16 (see weight_storage.py); the module's
    parameters are rounded to float16 first, in a copy, so parity with PyTorch stays exact.
    """
    contract = contract or load_contract()
    input_names, output_names = tensor_names(model_name, contract)
    module = (with_float16_representable_parameters(module) if float16_weights else module).eval()
    example = inputs_for_batch(1)
    if list(example) != input_names:
        raise OnnxExportError(
            f"{model_name}: example inputs are {list(example)}, the contract's inputs are {input_names}"
        )
    exportable = _single_tensor_output(module, example)
    started = time.perf_counter()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"onnx-{model_name}-") as staging:
        staged = Path(staging) / "model.onnx"
        with warnings.catch_warnings():
            # The legacy exporter warns about itself and about every shape assert it traces.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                exportable,
                tuple(example.values()),
                str(staged),
                dynamo=False,
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=dynamic_axes_for(model_name, contract),
                opset_version=OPSET_VERSION,
                do_constant_folding=True,
            )
        _resave(staged, out_path, external_data_threshold_bytes, float16_weights)
    seconds = time.perf_counter() - started
    try:
        onnx.checker.check_model(str(out_path), full_check=True)
    except onnx.checker.ValidationError as error:
        raise OnnxExportError(f"{model_name}: {out_path} fails onnx.checker: {error}") from error
    parity = (
        check_parity(model_name, exportable, out_path, inputs_for_batch, contract, tolerance)
        if compare_with_pytorch
        else []
    )
    return ExportReport(
        name=model_name,
        path=out_path,
        file_bytes=_file_bytes(out_path),
        parameters=onnx_parameter_count(out_path),
        seconds=seconds,
        parity=parity,
    )


def check_parity(
    model_name: str,
    module: nn.Module,
    onnx_path: Path,
    inputs_for_batch: InputsForBatch,
    contract: dict | None = None,
    tolerance: float = PARITY_TOLERANCE,
) -> list[ParityCheck]:
    """Run the ONNX file and PyTorch on batch 1 and 2, then on inputs resized along every other
    dynamic axis (half the frames, twice the height and width); raise past `tolerance`."""
    contract = contract or load_contract()
    session = onnx_session(onnx_path)
    cases: list[tuple[str, dict[str, torch.Tensor]]] = [
        ("batch 1", inputs_for_batch(1)),
        ("batch 2", inputs_for_batch(2)),
    ]
    cases += _resized_cases(model_name, inputs_for_batch(1), contract)
    checks: list[ParityCheck] = []
    for label, inputs in cases:
        with torch.no_grad():
            expected = _first_tensor(module(*inputs.values())).numpy()
        actual = run_session(session, inputs)
        error = relative_error(actual, expected)
        if not error <= tolerance:
            raise OnnxExportError(
                f"{model_name}: onnxruntime differs from PyTorch on {label}: relative error "
                f"{error:.3g} > {tolerance:g} ({onnx_path})"
            )
        checks.append(ParityCheck(label=label, relative_error=error))
    return checks


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max|actual - expected| / max|expected|; shapes must agree."""
    if actual.shape != expected.shape:
        return float("inf")
    scale = float(np.abs(expected).max())
    diff = float(np.abs(actual.astype(np.float64) - expected.astype(np.float64)).max())
    return diff / scale if scale > 0 else diff


def onnx_session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    # The machine's cores are shared; two threads is what serving gets too.
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_session(session: ort.InferenceSession, inputs: dict[str, torch.Tensor]) -> np.ndarray:
    feeds = {name: tensor.detach().cpu().numpy() for name, tensor in inputs.items()}
    return session.run(None, feeds)[0]


def onnx_parameter_count(path: Path) -> int:
    """Elements in the file's initializers (constants folded into the graph included)."""
    model = onnx.load(str(path), load_external_data=False)
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer)


def _model_spec(model_name: str, contract: dict | None) -> dict:
    models = (contract or load_contract())["models"]
    if model_name not in models:
        raise OnnxExportError(f"{model_name!r} is not a model of the contract ({', '.join(models)})")
    return models[model_name]


class _FirstTensor(nn.Module):
    """Exports a module whose forward returns a tuple or a diffusers output as one tensor."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return _first_tensor(self.inner(*args))


def _first_tensor(output: object) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, tuple | list):
        return _first_tensor(output[0])
    if hasattr(output, "to_tuple"):  # diffusers / transformers ModelOutput
        return _first_tensor(output.to_tuple()[0])
    raise OnnxExportError(f"cannot export an output of type {type(output).__name__}")


def _single_tensor_output(module: nn.Module, example: dict[str, torch.Tensor]) -> nn.Module:
    with torch.no_grad():
        output = module(*example.values())
    return module if isinstance(output, torch.Tensor) else _FirstTensor(module).eval()


def _resave(staged: Path, out_path: Path, external_data_threshold_bytes: int, float16_weights: bool) -> None:
    """Re-save the staged export at `out_path`, with one external data file when it is large."""
    model = onnx.load(str(staged))
    if float16_weights:
        model = store_initializers_as_float16(model)
    for stale in (out_path, out_path.parent / EXTERNAL_DATA_FILE):
        stale.unlink(missing_ok=True)
    large = sum(t.ByteSize() for t in model.graph.initializer) > external_data_threshold_bytes
    onnx.save_model(
        model,
        str(out_path),
        save_as_external_data=large,
        all_tensors_to_one_file=True,
        location=EXTERNAL_DATA_FILE,
        size_threshold=1024,
    )


def _file_bytes(path: Path) -> int:
    data = path.parent / EXTERNAL_DATA_FILE
    return path.stat().st_size + (data.stat().st_size if data.exists() else 0)


def _resized_cases(
    model_name: str, inputs: dict[str, torch.Tensor], contract: dict
) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """Inputs with one non-batch dynamic dimension changed: frames halved, sizes doubled
    (doubling keeps every size divisible by the models' down-sampling factors)."""
    spec = _model_spec(model_name, contract)
    dynamic = DYNAMIC_DIMS[model_name] - {"B"}
    shapes = {t["name"]: t["shape"] for t in spec["inputs"]}
    input_symbols = {d for shape in shapes.values() for d in shape if isinstance(d, str)}
    # A spatial pair (H and W, or h and w) changes together: square frames stay square.
    groups = [("F",), ("H", "W"), ("h", "w")]
    cases = []
    for group in groups:
        symbols = [s for s in group if s in dynamic and s in input_symbols]
        if not symbols:
            continue
        resized = {}
        for name, tensor in inputs.items():
            for axis, dim in enumerate(shapes[name]):
                if dim in symbols:
                    tensor = (
                        tensor.narrow(axis, 0, max(1, tensor.shape[axis] // 2))
                        if dim == "F"
                        else tensor.repeat_interleave(2, dim=axis)
                    )
            resized[name] = tensor
        label = ", ".join(f"{s}={_size_of(s, resized, shapes)}" for s in symbols)
        cases.append((label, resized))
    return cases


def _size_of(symbol: str, inputs: dict[str, torch.Tensor], shapes: dict[str, list]) -> int:
    for name, shape in shapes.items():
        if symbol in shape:
            return int(inputs[name].shape[shape.index(symbol)])
    raise KeyError(symbol)
