"""Each stage's final weights on disk, and loading them into a model set for export.

A weights folder (assets/checkpoints/magicvideo-shapes/) holds, per finished stage,
`<stage>.safetensors` (float16: small enough to commit, so later sessions train on top of
them) and `<stage>.json` (the run's config, steps, final losses, metrics, wall time):

    clip.safetensors   text_encoder.*, image_encoder.* (the shipped models), text_projection.*,
                       logit_scale (the contrastive heads, for CLIP scores in evaluation)
    vae.safetensors    VideoVAE (AutoencoderKL names plus decoder.temporal_attentions.*)
    sr.safetensors     SRUNet

vae.json carries the measured `latent_scaling_factor` (1 / std of the trained VAE's latents).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from magicvideo_models.model_set import BuiltModelSet

DEFAULT_WEIGHTS_FOLDER = Path("assets/checkpoints/magicvideo-shapes")

# stage → (model-set component, key prefix inside the stage file)
STAGE_COMPONENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "clip": (("text_encoder", "text_encoder."), ("image_encoder", "image_encoder.")),
    "vae": (("vae", ""),),
    "sr": (("sr_unet", ""),),
    "keyframe_unet": (("unet", ""),),
    "interp_unet": (("interp_unet", ""),),
}


def save_stage_weights(
    folder: Path, stage: str, tensors: Mapping[str, torch.Tensor], summary: Mapping[str, Any]
) -> Path:
    """Write `<stage>.safetensors` (float16 floats) and `<stage>.json`; returns the weights path."""
    if stage not in STAGE_COMPONENTS:
        raise ValueError(f"unknown stage {stage!r}; known: {tuple(STAGE_COMPONENTS)}")
    folder.mkdir(parents=True, exist_ok=True)
    stored = {
        name: (tensor.detach().to(torch.float16) if tensor.is_floating_point() else tensor.detach())
        .cpu()
        .contiguous()
        for name, tensor in tensors.items()
    }
    path = folder / f"{stage}.safetensors"
    save_file(stored, str(path), metadata={"stage": stage, "written": time.strftime("%Y-%m-%dT%H:%M:%S")})
    (folder / f"{stage}.json").write_text(json.dumps(dict(summary), indent=2) + "\n")
    return path


def read_weights_snapshot(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(float32 state dict, its JSON summary) of a float16 weights file and the .json beside it
    (a stage's final weights, or a trainer's partial snapshot)."""
    tensors = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    summary_path = path.with_suffix(".json")
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    return tensors, summary


def prefixed(prefix: str, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {prefix + name: tensor for name, tensor in state.items()}


@dataclass(frozen=True)
class TrainedWeights:
    """The state dicts (float32) of the components some stage trained, and the stages' summaries."""

    components: dict[str, dict[str, torch.Tensor]]  # component → state dict
    summaries: dict[str, dict[str, Any]]  # stage → its JSON

    @property
    def latent_scaling_factor(self) -> float | None:
        vae = self.summaries.get("vae")
        return None if vae is None else float(vae["latent_scaling_factor"])

    @property
    def repeat_caption_states(self) -> bool:
        """Whether the key-frame U-Net was trained on text states whose padding repeats the
        caption's states (text_encoder.py), so the folder's text encoder must do the same."""
        unet = self.summaries.get("keyframe_unet", {})
        return bool(unet.get("config", {}).get("repeat_caption_states", False))


def load_trained_weights(folder: Path) -> TrainedWeights:
    """Every stage found in `folder` (a stage without its file is simply untrained)."""
    components: dict[str, dict[str, torch.Tensor]] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for stage, parts in STAGE_COMPONENTS.items():
        path = folder / f"{stage}.safetensors"
        if not path.is_file():
            continue
        tensors = load_file(str(path))
        for component, prefix in parts:
            components[component] = {
                name[len(prefix) :]: tensor.to(torch.float32) if tensor.is_floating_point() else tensor
                for name, tensor in tensors.items()
                if name.startswith(prefix)
            }
        summary_path = folder / f"{stage}.json"
        summaries[stage] = (
            json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
        )
    return TrainedWeights(components, summaries)


def load_into_model_set(built: BuiltModelSet, weights: TrainedWeights) -> list[str]:
    """Load the trained components into a built model set (strict: every name must match);
    returns the exported model names that now carry trained weights."""
    trained: list[str] = []
    for model in built.models:
        if model.name in ("vae_encoder", "vae_decoder"):
            state, module = weights.components.get("vae"), model.module.vae
        else:
            state, module = weights.components.get(model.name), model.module
        if state is None:
            continue
        module.load_state_dict(state, strict=True)
        trained.append(model.name)
    return trained
