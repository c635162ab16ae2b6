"""Key-frame parity vectors: what the Python reference sampler makes from a model folder.

Runs the folder's text encoder and key-frame U-Net with onnxruntime, the tokenizer with
``tokenizers``, and samples with ``magicvideo_models.sampling.sample`` for every sampler, then
writes the text embeddings and the key-frame latents. The TypeScript runtime's
``generateKeyframes`` spec samples the same cases from the same folder and must land within
1e-4 (relative to the largest value) of these latents.

SDEdit (an init video's latents, paper §4.3) is not part of ``sampling.sample``; its cases use
``sdedit_sample`` below: diffusers' img2img timestep selection (``get_timesteps`` of
``StableDiffusionImg2ImgPipeline``, so the start index and the scheduler's begin index are
diffusers' own), the init latents noised with ``scheduler.add_noise`` and the SDEdit noise
stream, then the same guided steps as ``sampling.sample``, step noise indexed by the scheduler's
step index.

The committed fixture is written from the shipped folder (``assets/models/magicvideo-shapes``);
after re-exporting it, ``npm run fixtures:models`` (``python -m magicvideo_models fixtures``)
rewrites it. This module's own command line writes vectors of any folder to any place.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from diffusers import StableDiffusionImg2ImgPipeline
from safetensors.numpy import save_file
from tokenizers import Tokenizer

from magicvideo_models.noise import NoisePurpose, seeded_gaussian_tensor, stream_id
from magicvideo_models.sampling import (
    SamplerName,
    classifier_free_guidance,
    ddpm_step_with_noise,
    make_scheduler,
    onnx_denoiser,
    sample,
)

REPO_ROOT = Path(__file__).resolve().parents[4]
SHIPPED_FOLDER = REPO_ROOT / "assets" / "models" / "magicvideo-shapes"
FIXTURE_DIR = REPO_ROOT / "libs" / "diffusion" / "test" / "fixtures" / "keyframe-parity"
FIXTURE_TENSORS = "keyframe-parity.safetensors"
FIXTURE_CASES = "cases.json"
# The files whose bytes decide the vectors; the TypeScript spec hashes the same list to tell a
# stale fixture from a broken runtime.
DIGESTED_FILES = (
    "model_index.json",
    "tokenizer/tokenizer.json",
    "text_encoder/model.onnx",
    "unet/model.onnx",
)
# Rewrites the committed fixture from the shipped folder (the models CLI's `fixtures` command).
REFRESH_COMMAND = "npm run fixtures:models"


@dataclass(frozen=True)
class ParityCase:
    name: str
    sampler: SamplerName
    steps: int
    guidance_scale: float
    eta: float = 0.0
    # SDEdit: init latents are ``init_scale`` × seeded_gaussian(init_seed, keyframe initial stream)
    strength: float | None = None


@dataclass(frozen=True)
class ParityPrompt:
    prompt: str
    negative_prompt: str
    seed: int
    fps: float
    init_seed: int
    init_scale: float


PARITY_PROMPT = ParityPrompt(
    prompt="a red circle moving right",
    negative_prompt="blurry",
    seed=1234,
    fps=8.0,
    init_seed=77,
    init_scale=0.5,
)
PARITY_CASES: tuple[ParityCase, ...] = (
    ParityCase("ddim", "ddim", 4, 7.5),
    ParityCase("ddpm", "ddpm", 4, 7.5),
    ParityCase("dpmpp-2m", "dpmpp-2m", 4, 7.5),
    ParityCase("euler", "euler", 4, 7.5),
    ParityCase("ddim-eta", "ddim", 4, 7.5, eta=0.5),
    ParityCase("ddim-unguided", "ddim", 4, 1.0),
    ParityCase("sdedit-ddim", "ddim", 4, 7.5, strength=0.75),
    ParityCase("sdedit-ddpm", "ddpm", 4, 7.5, strength=0.75),
    ParityCase("sdedit-dpmpp-2m", "dpmpp-2m", 4, 7.5, strength=0.75),
    ParityCase("sdedit-euler", "euler", 4, 7.5, strength=0.75),
)


def folder_digest(models: Path) -> str:
    """sha256 over each digested file's name and bytes, in DIGESTED_FILES order."""
    digest = hashlib.sha256()
    for name in DIGESTED_FILES:
        digest.update(name.encode() + b"\0")
        digest.update((models / name).read_bytes())
    return digest.hexdigest()


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def encode_text(
    models: Path, manifest: Mapping[str, Any], prompt: str, negative_prompt: str
) -> dict[str, np.ndarray]:
    """``cond`` and ``uncond`` [1, L, D]: the text encoder on the batch [negative, prompt]."""
    tokenizer = Tokenizer.from_file(str(models / "tokenizer" / "tokenizer.json"))
    session = _session(models / manifest["models"]["text_encoder"])
    (ids_input,) = session.get_inputs()
    ids_dtype = np.int32 if ids_input.type == "tensor(int32)" else np.int64
    ids = np.array(
        [encoding.ids for encoding in tokenizer.encode_batch([negative_prompt, prompt])], dtype=ids_dtype
    )
    (hidden, *_) = session.run(None, {ids_input.name: ids})
    hidden = np.asarray(hidden, dtype=np.float32)
    return {"uncond": hidden[:1], "cond": hidden[1:]}


def keyframe_shape(manifest: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    scale = manifest["vae_scale_factor"]
    size = manifest["sample_size"]
    return (
        1,
        manifest["latent_channels"],
        manifest["frames"],
        size["height"] // scale,
        size["width"] // scale,
    )


@torch.no_grad()
def sdedit_sample(
    denoise: Any,
    cond: torch.Tensor,
    uncond: torch.Tensor,
    *,
    sampler: SamplerName,
    steps: int,
    strength: float,
    guidance_scale: float,
    seed: int,
    init_latents: torch.Tensor,
    scheduler_config: Mapping[str, Any],
    fps: float,
    eta: float = 0.0,
) -> torch.Tensor:
    """Key frames from noised ``init_latents`` (SDEdit), guided as ``sampling.sample``."""
    scheduler = make_scheduler(sampler, scheduler_config)
    scheduler.set_timesteps(steps)
    timesteps, run_steps = StableDiffusionImg2ImgPipeline.get_timesteps(
        SimpleNamespace(scheduler=scheduler), steps, strength, "cpu"
    )
    if run_steps < 1:
        raise ValueError(f"strength {strength} of {steps} steps runs no step")
    first_step = steps - run_steps
    noise = seeded_gaussian_tensor(seed, stream_id(NoisePurpose.SDEDIT_NOISE, 0), tuple(init_latents.shape))
    latents = scheduler.add_noise(init_latents, noise, timesteps[:1])
    guided = guidance_scale > 1.0
    branches = 2 if guided else 1
    hidden = torch.cat([uncond, cond]) if guided else cond
    fps_input = torch.full((branches,), fps, dtype=torch.float32)
    for offset, timestep in enumerate(timesteps):
        step_index = first_step + offset
        model_input = scheduler.scale_model_input(torch.cat([latents] * branches), timestep)
        timestep_input = torch.full((branches,), float(timestep), dtype=torch.float32)
        output = denoise(
            sample=model_input, timestep=timestep_input, encoder_hidden_states=hidden, fps=fps_input
        )
        if guided:
            output = classifier_free_guidance(*output.chunk(2), guidance_scale)
        step_noise = seeded_gaussian_tensor(
            seed, stream_id(NoisePurpose.KEYFRAME_STEP_NOISE, step_index), tuple(latents.shape)
        )
        if sampler == "ddpm":
            latents = ddpm_step_with_noise(scheduler, output, timestep, latents, step_noise)
        elif sampler == "ddim":
            noise_arg = step_noise if eta > 0 else None
            latents = scheduler.step(output, timestep, latents, eta=eta, variance_noise=noise_arg).prev_sample
        else:
            latents = scheduler.step(output, timestep, latents).prev_sample
    return latents


def build_vectors(
    models: Path, cases: Sequence[ParityCase] = PARITY_CASES, prompt: ParityPrompt = PARITY_PROMPT
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The fixture tensors (``text.cond``, ``text.uncond``, ``init``, ``latents.<case>``) and description."""
    manifest = json.loads((models / "model_index.json").read_text())
    text = encode_text(models, manifest, prompt.prompt, prompt.negative_prompt)
    cond = torch.from_numpy(text["cond"])
    uncond = torch.from_numpy(text["uncond"])
    unet = onnx_denoiser(_session(models / manifest["models"]["unet"]))
    shape = keyframe_shape(manifest)
    scheduler_config = manifest["schedulers"]["unet"]
    init = (
        seeded_gaussian_tensor(prompt.init_seed, stream_id(NoisePurpose.KEYFRAME_INITIAL_LATENTS, 0), shape)
        * prompt.init_scale
    )
    tensors = {"text.cond": text["cond"], "text.uncond": text["uncond"], "init": init.numpy()}
    for case in cases:
        if case.strength is None:
            latents = sample(
                unet,
                {"encoder_hidden_states": cond},
                {"encoder_hidden_states": uncond},
                sampler=case.sampler,
                steps=case.steps,
                guidance_scale=case.guidance_scale,
                seed=prompt.seed,
                shape=shape,
                scheduler_config=scheduler_config,
                shared={"fps": torch.tensor([prompt.fps], dtype=torch.float32)},
                eta=case.eta,
            )
        else:
            latents = sdedit_sample(
                unet,
                cond,
                uncond,
                sampler=case.sampler,
                steps=case.steps,
                strength=case.strength,
                guidance_scale=case.guidance_scale,
                seed=prompt.seed,
                init_latents=init,
                scheduler_config=scheduler_config,
                fps=prompt.fps,
                eta=case.eta,
            )
        tensors[f"latents.{case.name}"] = latents.numpy().astype(np.float32)
    description = {
        "refresh": REFRESH_COMMAND,
        "folder_sha256": folder_digest(models),
        "digested_files": list(DIGESTED_FILES),
        "prompt": asdict(prompt),
        "cases": [asdict(case) for case in cases],
    }
    return {name: np.ascontiguousarray(value) for name, value in tensors.items()}, description


def write_vectors(models: Path, out: Path, cases: Sequence[ParityCase] = PARITY_CASES) -> None:
    tensors, description = build_vectors(models, cases)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / FIXTURE_TENSORS))
    (out / FIXTURE_CASES).write_text(json.dumps(description, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        type=Path,
        default=SHIPPED_FOLDER,
        help="model folder (model_index.json and ONNX files; default: the shipped folder)",
    )
    parser.add_argument(
        "--out", type=Path, default=FIXTURE_DIR, help="fixture folder to write (default: the committed one)"
    )
    args = parser.parse_args(argv)
    write_vectors(args.models, args.out)


if __name__ == "__main__":
    main()
