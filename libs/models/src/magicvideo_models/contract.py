"""The model-folder contract (DESIGN.md §5, docs/models.md), checked on the modeling side.

The contract is one JSON file shared by both halves,
``libs/shared/src/model-folder/model-folder.contract.json``: the manifest's JSON Schema and
every ONNX model's tensor names, dtypes and symbolic shapes. ``validate_model_folder`` checks
a folder right after export; ``libs/diffusion`` checks the same file's rules at load time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import onnx
from google.protobuf.message import DecodeError

CONTRACT_ENV_VAR = "MAGICVIDEO_CONTRACT"
CONTRACT_RELATIVE_PATH = Path("libs/shared/src/model-folder/model-folder.contract.json")
MANIFEST_FILE = "model_index.json"
BATCH_DIM = "B"


class ModelContractViolation(Exception):  # noqa: N818 (the error code STYLE.md names)
    """One way a model folder breaks the contract, naming the file and (when there is one) the tensor."""

    def __init__(self, file: str, tensor: str | None, message: str, role: str = "input") -> None:
        self.file = file
        self.tensor = tensor
        self.message = message
        self.role = role  # "input" or "output" of the model, when there is a tensor
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.tensor is None:
            return f"{self.file}: {self.message}"
        return f'{self.file}: {self.role} "{self.tensor}": {self.message}'


class ModelFolderError(ValueError):
    """A model folder with at least one contract violation; ``violations`` lists them all."""

    def __init__(self, folder: Path, violations: list[ModelContractViolation]) -> None:
        self.folder = folder
        self.violations = violations
        lines = "\n".join(f"  {v}" for v in violations)
        super().__init__(f"{folder} violates the model-folder contract:\n{lines}")


@dataclass
class ValidationReport:
    folder: Path
    violations: list[ModelContractViolation] = field(default_factory=list)
    models_checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def raise_if_invalid(self) -> None:
        if self.violations:
            raise ModelFolderError(self.folder, self.violations)


def contract_path() -> Path:
    """``$MAGICVIDEO_CONTRACT`` if set, else the contract file found walking up from this module."""
    override = os.environ.get(CONTRACT_ENV_VAR)
    if override:
        return Path(override)
    for directory in Path(__file__).resolve().parents:
        candidate = directory / CONTRACT_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"model-folder contract not found above {Path(__file__).parent}; set {CONTRACT_ENV_VAR}"
    )


@cache
def _load_contract(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def load_contract() -> dict[str, Any]:
    """The parsed contract JSON (cached per path)."""
    return _load_contract(contract_path())


def validate_manifest(manifest: Any, contract: dict[str, Any] | None = None) -> list[ModelContractViolation]:
    """``model_index.json`` against the contract's ``manifestSchema`` (JSON Schema 2020-12).

    Also the rules a JSON Schema cannot say: fps.default within [min, max]; every model name
    a contract model.
    """
    contract = contract or load_contract()
    validator = jsonschema.Draft202012Validator(contract["manifestSchema"])
    violations = [
        ModelContractViolation(MANIFEST_FILE, None, f"{_json_path(error.absolute_path)}: {error.message}")
        for error in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if violations:
        return violations
    fps = manifest["fps"]
    if not fps["min"] <= fps["default"] <= fps["max"]:
        violations.append(
            ModelContractViolation(MANIFEST_FILE, None, f"fps: default {fps['default']} outside [min, max]")
        )
    for name in manifest["models"]:
        if name not in contract["models"]:
            known = ", ".join(contract["models"])
            violations.append(
                ModelContractViolation(
                    MANIFEST_FILE, None, f'models: "{name}" is not a contract model ({known})'
                )
            )
    return violations


def manifest_dimensions(manifest: dict[str, Any]) -> dict[str, int]:
    """The contract's shape letters whose size the manifest fixes (docs/models.md, "Shapes")."""
    return {
        "C": manifest["latent_channels"],
        "2C": 2 * manifest["latent_channels"],
        "D": manifest["text"]["hidden_size"],
        "L": manifest["text"]["max_length"],
        "E": manifest["image_encoder"]["embed_dim"],
        "S": manifest["image_encoder"]["image_size"],
    }


def onnx_dtype_name(elem_type: int) -> str:
    """ONNX element type -> the contract's dtype name (numpy's: float32, int64, ...)."""
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name
    except (KeyError, ValueError, TypeError):
        return onnx.TensorProto.DataType.Name(elem_type).lower()


def check_model_tensors(
    model_name: str, model: onnx.ModelProto, manifest: dict[str, Any], contract: dict[str, Any] | None = None
) -> list[ModelContractViolation]:
    """One ONNX model's graph inputs and outputs against the contract's tensor specs."""
    contract = contract or load_contract()
    spec = contract["models"][model_name]
    file = manifest["models"].get(model_name, spec["file"])
    initializers = {init.name for init in model.graph.initializer}
    graph_inputs = [value for value in model.graph.input if value.name not in initializers]
    known = manifest_dimensions(manifest)
    seen: dict[str, tuple[int, str]] = {}  # letter -> (static size, where it was first seen)
    violations: list[ModelContractViolation] = []
    for role, specs, values in (
        ("input", spec["inputs"], graph_inputs),
        ("output", spec["outputs"], model.graph.output),
    ):
        expected_names = [s["name"] for s in specs]
        actual_names = [v.name for v in values]
        for name in actual_names:
            if name not in expected_names:
                violations.append(
                    ModelContractViolation(
                        file, name, f"not in the contract's {role}s {_listed(expected_names)}", role
                    )
                )
        by_name = {v.name: v for v in values}
        for tensor_spec in specs:
            name = tensor_spec["name"]
            value = by_name.get(name)
            if value is None:
                violations.append(
                    ModelContractViolation(file, name, f"missing (model has {_listed(actual_names)})", role)
                )
                continue
            violations += _check_tensor(file, role, value, tensor_spec, known, seen)
    return violations


def _check_tensor(
    file: str,
    role: str,
    value: onnx.ValueInfoProto,
    spec: dict[str, Any],
    known: dict[str, int],
    seen: dict[str, tuple[int, str]],
) -> list[ModelContractViolation]:
    tensor = value.name

    def violation(message: str) -> ModelContractViolation:
        return ModelContractViolation(file, tensor, message, role)

    violations: list[ModelContractViolation] = []
    if not value.type.HasField("tensor_type"):
        return [violation("is not a tensor")]
    tensor_type = value.type.tensor_type
    dtype = onnx_dtype_name(tensor_type.elem_type)
    if dtype not in spec["dtypes"]:
        violations.append(violation(f"dtype {dtype} not in {_listed(spec['dtypes'])}"))
    expected_shape = spec["shape"]
    if not tensor_type.HasField("shape"):
        return violations + [violation(f"has no shape, expected rank {len(expected_shape)}")]
    dims = list(tensor_type.shape.dim)
    if len(dims) != len(expected_shape):
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
        expected = f"expected rank {len(expected_shape)} {_listed(expected_shape)}"
        return violations + [violation(f"rank {len(dims)} {_listed(shape)}, {expected}")]
    for axis, (dim, expected) in enumerate(zip(dims, expected_shape, strict=True)):
        if not dim.HasField("dim_value"):
            continue  # symbolic or unknown: any size is accepted at run time
        size = dim.dim_value
        where = f'{role} "{tensor}" axis {axis}'
        if isinstance(expected, int):
            if size != expected:
                violations.append(violation(f"axis {axis} is {size}, expected {expected}"))
        elif expected == BATCH_DIM:
            violations.append(violation(f"axis {axis} (batch B) must be dynamic, is static {size}"))
        elif expected in known and size != known[expected]:
            violations.append(
                violation(f"axis {axis} ({expected}) is {size}, the manifest says {known[expected]}")
            )
        elif expected in seen and seen[expected][0] != size:
            first_size, first_where = seen[expected]
            violations.append(
                violation(f"axis {axis} ({expected}) is {size}, but {first_size} at {first_where}")
            )
        else:
            seen.setdefault(expected, (size, where))
    return violations


def validate_model_folder(path: str | Path, contract: dict[str, Any] | None = None) -> ValidationReport:
    """Every rule of the contract over a model folder; collects all violations (see ``raise_if_invalid``)."""
    contract = contract or load_contract()
    folder = Path(path)
    report = ValidationReport(folder)
    manifest_file = folder / MANIFEST_FILE
    if not manifest_file.is_file():
        report.violations.append(ModelContractViolation(MANIFEST_FILE, None, "missing"))
        return report
    try:
        manifest = json.loads(manifest_file.read_text())
    except json.JSONDecodeError as error:
        report.violations.append(ModelContractViolation(MANIFEST_FILE, None, f"not valid JSON: {error}"))
        return report
    report.violations += validate_manifest(manifest, contract)
    if report.violations:
        return report  # the tensor rules read the manifest's sizes; they need a valid one

    tokenizer = contract["tokenizer"]
    if tokenizer["required"] and not (folder / tokenizer["file"]).is_file():
        report.violations.append(ModelContractViolation(tokenizer["file"], None, "missing"))

    for model_name, file in manifest["models"].items():
        if model_name not in contract["models"]:
            continue  # already reported by validate_manifest
        model_file = folder / file
        if not model_file.is_file():
            report.violations.append(ModelContractViolation(file, None, f"missing (listed as {model_name})"))
            continue
        try:
            model = onnx.load(str(model_file), load_external_data=False)
        except (DecodeError, OSError) as error:
            report.violations.append(
                ModelContractViolation(file, None, f"not a readable ONNX model: {error}")
            )
            continue
        report.violations += check_model_tensors(model_name, model, manifest, contract)
        report.models_checked.append(model_name)
    return report


def _json_path(path: Any) -> str:
    parts = [str(p) for p in path]
    return "/".join(parts) if parts else "(root)"


def _listed(items: Any) -> str:
    """``[a, b, 3]``: the list format of the messages of both halves."""
    return "[" + ", ".join(str(item) for item in items) + "]"
