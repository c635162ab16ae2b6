"""Write a model folder (DESIGN.md §5): tokenizer, seven ONNX models and model_index.json.

`export_model_folder("tiny", seed=0, out_dir)` makes a `tiny` folder with every model randomly
initialised from the seed (the tests' throwaway folders), exported and checked against PyTorch
(onnx_export.py), the manifest written from the ModelSetConfig, and the folder validated
against the contract before it is called done. Same config and seed → byte-identical files.

With `weights_dir` (training/trained_weights.py: each stage's final safetensors and JSON), the
models some stage trained carry its weights and the rest keep their seeded random
initialisation; the manifest's `training` section says which are which, and a trained VAE's
measured latent scaling factor replaces the config's. That is how `assets/models/magicvideo-shapes/`
is made (its README.md has the command).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .contract import MANIFEST_FILE, load_contract, validate_model_folder
from .image_encoder import IMAGE_MEAN, IMAGE_STD
from .model_set import ModelSetConfig, SchedulerConfig, build_models
from .onnx_export import ExportReport, export_onnx
from .sr_unet import receptive_field_radius
from .tokenizer import build_tokenizer, save_tokenizer
from .training.trained_weights import TrainedWeights, load_into_model_set, load_trained_weights

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
    weights_dir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> FolderExport:
    """Build, export, check and validate every model of `config_name` into `out_dir`.

    Raises UnknownConfigError, ModelFolderExportError, OnnxExportError (an export differs from
    PyTorch) or contract.ModelFolderError (the folder breaks the contract).
    `float16_weights` stores weights as float16, computed in float32 (weight_storage.py): half
    the size, for the shipped folders. `weights_dir`: load each trained stage's weights from
    there (a stage without its file stays randomly initialised).
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
    trained = load_trained_weights(Path(weights_dir)) if weights_dir is not None else None
    config = as_trained(config, trained)
    built = build_models(config, seed)
    trained_models: list[str] = []
    if trained is not None:
        trained_models = load_into_model_set(built, trained)
        say(f"trained weights from {weights_dir}: {', '.join(trained_models) or 'none'}")
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

    manifest = build_manifest(
        config, seed, built.decoder_context_frames, [r.name for r in reports], trained, trained_models
    )
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    validate_model_folder(folder, contract).raise_if_invalid()
    say(f"{folder}: valid against the model-folder contract")
    return FolderExport(folder, config.name, seed, time.perf_counter() - started, reports)


def as_trained(config: ModelSetConfig, trained: TrainedWeights | None) -> ModelSetConfig:
    """The config with what training decided beyond the weights: a text encoder that repeats the
    caption's states over the padding when the key-frame U-Net was trained on them so."""
    if trained is None or not trained.repeat_caption_states:
        return config
    return replace(config, text_encoder=replace(config.text_encoder, repeat_caption_states=True))


def build_manifest(
    config: ModelSetConfig,
    seed: int,
    decoder_context_frames: int,
    model_names: list[str],
    trained: TrainedWeights | None = None,
    trained_models: list[str] | None = None,
) -> dict:
    """model_index.json; `trained_models` (exported names) carry `trained`'s weights, the rest
    the random initialisation from `seed`."""
    trained_models = trained_models or []
    measured_scaling = (
        trained.latent_scaling_factor if trained is not None and "vae_decoder" in trained_models else None
    )
    latent_scaling_factor = measured_scaling if measured_scaling is not None else config.latent_scaling_factor
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
        "latent_scaling_factor": latent_scaling_factor,
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
        "super_resolution": {
            "size_multiple": config.sr_unet.size_multiple,
            "receptive_field_radius": receptive_field_radius(config.sr_unet),
        },
        "schedulers": {
            "unet": _scheduler(config.scheduler),
            "interp_unet": _scheduler(interp_scheduler(config)),
            "sr_unet": _scheduler(config.sr_scheduler),
        },
        "defaults": asdict(config.defaults),
        "fps": asdict(config.fps),
        "models": {name: f"{name}/model.onnx" for name in model_names},
        "training": _training_summary(config, seed, model_names, trained, trained_models, measured_scaling),
    }


def _training_summary(
    config: ModelSetConfig,
    seed: int,
    model_names: list[str],
    trained: TrainedWeights | None,
    trained_models: list[str],
    measured_scaling: float | None,
) -> dict:
    random_init = f"random initialisation, seed {seed} (each model seeded by model_set.model_seed)"
    if measured_scaling is not None:
        scaling_note = "measured: 1 / std of the trained VAE's latents of training clips"
    elif config.latent_scaling_factor == 1.0:
        scaling_note = "1.0 placeholder until a trained VAE measures 1/std of its latents"
    else:
        scaling_note = "Stable Diffusion 1.x's 0.18215"
    if not trained_models:
        return {
            "status": "untrained",
            "weights": random_init,
            "latent_scaling_factor": scaling_note,
            "purpose": "a fixture for the serving runtime until trained weights replace it",
        }
    untrained = [name for name in model_names if name not in trained_models]
    stage_keys = ("steps", "final_loss", "train_seconds", "device")
    metric_keys = ("zero_shot_accuracy", "autoencoder_metrics", "decoders_on_val_clips", "val_whole_frames")
    stages = {
        stage: {key: summary[key] for key in (*stage_keys, *metric_keys) if key in summary}
        for stage, summary in (trained.summaries.items() if trained else [])
    }
    summary = {
        "status": "trained" if not untrained else "partially trained",
        "data": "MagicVideo Shapes (DESIGN.md §7), rendered from data seed 0",
        "trained_models": trained_models,
        "untrained_models": {name: random_init for name in untrained},
        "stages": stages,
        "latent_scaling_factor": scaling_note,
    }
    if config.text_encoder.repeat_caption_states:
        summary["text_encoder"] = (
            "the states after the caption's EOS repeat the caption's own, as the key-frame U-Net was trained"
        )
    return summary


def interp_scheduler(config: ModelSetConfig) -> SchedulerConfig:
    """The key-frame schedule; with the blend skip the last DDIM step ends at ᾱ = 1, returning the
    network's x̂0 (the blend plus its correction) instead of adding back √(1 − ᾱ_0) ≈ 0.03 of the
    implied noise, which cost 0.04 dB against the true middle frames."""
    return replace(
        config.scheduler, set_alpha_to_one=config.scheduler.set_alpha_to_one or config.interp_unet.blend_skip
    )


def _scheduler(scheduler: SchedulerConfig) -> dict:
    return asdict(scheduler)


def _package_version() -> str:
    try:
        return version("magicvideo-models")
    except PackageNotFoundError:
        return "0.0.0+source"
