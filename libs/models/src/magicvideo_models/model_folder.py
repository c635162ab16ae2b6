"""Write a model folder (DESIGN.md §5): tokenizer, seven ONNX models and model_index.json.

`export_model_folder("tiny", seed=0, out_dir)` is how `assets/models/magicvideo-tiny/` was made:
every model randomly initialised from the seed, exported and checked against PyTorch
(onnx_export.py), the manifest written from the ModelSetConfig, and the folder validated
against the contract before it is called done. Same config and seed → byte-identical files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .contract import MANIFEST_FILE, load_contract, validate_model_folder
from .image_encoder import IMAGE_MEAN, IMAGE_STD
from .model_set import ModelSetConfig, SchedulerConfig, build_models
from .onnx_export import ExportReport, export_onnx
from .tokenizer import build_tokenizer, save_tokenizer

TOKENIZER_FILE = "tokenizer/tokenizer.json"


class ModelFolderExportError(RuntimeError):
    """The models of a config cannot make a consistent folder (e.g. tokenizer and text encoder
    disagree on the vocabulary)."""


@dataclass(frozen=True)
class FolderExport:
    folder: Path
    config_name: str
    seed: int
    seconds: float
    models: list[ExportReport] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())


def export_model_folder(
    config_name: str,
    seed: int,
    out_dir: str | Path,
    *,
    compare_with_pytorch: bool = True,
    float16_weights: bool = True,
    log: Callable[[str], None] | None = None,
) -> FolderExport:
    """Build, export, check and validate every model of `config_name` into `out_dir`.

    Raises UnknownConfigError, ModelFolderExportError, OnnxExportError (an export differs from
    PyTorch) or contract.ModelFolderError (the folder breaks the contract).
    `float16_weights` stores weights as float16, computed in float32 (weight_storage.py): half
    the size, for the shipped folders.
    """
    config = ModelSetConfig.by_name(config_name)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    say = log or (lambda _line: None)

    tokenizer = build_tokenizer(config.text_encoder.vocab_size)
    if tokenizer.get_vocab_size() != config.text_encoder.vocab_size:
        # BOS and EOS are the last two ids of both; a smaller vocabulary moves them.
        raise ModelFolderExportError(
            f"the tokenizer learnt {tokenizer.get_vocab_size()} ids from its corpus, the "
            f"{config.name} text encoder expects {config.text_encoder.vocab_size}"
        )
    save_tokenizer(tokenizer, folder / TOKENIZER_FILE)
    say(f"{TOKENIZER_FILE}: vocabulary {tokenizer.get_vocab_size()}")

    contract = load_contract()
    reports: list[ExportReport] = []
    built = build_models(config, seed)
    for model in built.models:
        report = export_onnx(
            model.name,
            model.module,
            model.inputs_for_batch,
            folder / model.name / "model.onnx",
            contract=contract,
            compare_with_pytorch=compare_with_pytorch,
            float16_weights=float16_weights,
        )
        reports.append(report)
        parity = ", ".join(f"{p.label} {p.relative_error:.1e}" for p in report.parity) or "not compared"
        say(
            f"{model.name}/model.onnx: {report.parameters:,} parameters, {report.file_bytes / 1e6:.1f} MB, "
            f"exported in {report.seconds:.1f} s; relative error vs PyTorch: {parity}"
        )

    manifest = build_manifest(config, seed, built.decoder_context_frames, [r.name for r in reports])
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    validate_model_folder(folder, contract).raise_if_invalid()
    say(f"{folder}: valid against the model-folder contract")
    return FolderExport(folder, config.name, seed, time.perf_counter() - started, reports)


def build_manifest(
    config: ModelSetConfig, seed: int, decoder_context_frames: int, model_names: list[str]
) -> dict:
    """model_index.json for an untrained (randomly initialised) model set."""
    return {
        "_class_name": "MagicVideoPipeline",
        "family": "magicvideo",
        "version": _package_version(),
        "config_name": config.name,
        "contract_version": load_contract()["contractVersion"],
        "frames": config.frames,
        "interp_factor": config.interp_factor,
        "latent_channels": config.latent_channels,
        "vae_scale_factor": config.vae_scale_factor,
        "latent_scaling_factor": config.latent_scaling_factor,
        "sample_size": {"height": config.sample_size, "width": config.sample_size},
        "sr_scale": config.sr_scale,
        "text": {"max_length": config.text_max_length, "hidden_size": config.text_encoder.hidden_size},
        "image_encoder": {
            "image_size": config.image_encoder.image_size,
            "embed_dim": config.image_encoder.embed_dim,
            "image_mean": list(IMAGE_MEAN),
            "image_std": list(IMAGE_STD),
        },
        "vae": {"decoder_context_frames": decoder_context_frames},
        "schedulers": {
            "unet": _scheduler(config.scheduler),
            "interp_unet": _scheduler(config.scheduler),
            "sr_unet": _scheduler(config.sr_scheduler),
        },
        "defaults": asdict(config.defaults),
        "fps": asdict(config.fps),
        "models": {name: f"{name}/model.onnx" for name in model_names},
        "training": {
            "status": "untrained",
            "weights": f"random initialisation, seed {seed} (each model seeded by model_set.model_seed)",
            "latent_scaling_factor": "1.0 placeholder until a trained VAE measures 1/std of its latents"
            if config.latent_scaling_factor == 1.0
            else "Stable Diffusion 1.x's 0.18215",
            "purpose": "a fixture for the serving runtime until trained weights replace it",
        },
    }


def _scheduler(scheduler: SchedulerConfig) -> dict:
    return asdict(scheduler)


def _package_version() -> str:
    try:
        return version("magicvideo-models")
    except PackageNotFoundError:
        return "0.0.0+source"
