"""The Python reference sampler: diffusers' schedulers, classifier-free guidance, seeded noise.

The TypeScript runtime (libs/diffusion) samples the same way, so a video from the CLI equals
the one this makes from the same model folder, prompt and seed (DESIGN.md §6):

- the scheduler is diffusers' class for the sampler name, configured from the manifest's
  scheduler config (diffusers' key names; a missing key takes diffusers' default);
- initial latents are ``seeded_gaussian(seed, stream_id(initial purpose, 0), shape)`` times
  ``scheduler.init_noise_sigma`` (docs/noise.md);
- classifier-free guidance runs both branches in ONE denoiser call, batch order
  ``[uncond, cond]`` (as diffusers' pipelines), guided = uncond + scale * (cond - uncond),
  only when an uncond is given and ``guidance_scale > 1``;
- stochastic steps (DDPM; DDIM with eta > 0) take their noise from
  ``seeded_gaussian(seed, stream_id(step purpose, step number), shape)``, step numbers from 0.

The denoiser is any callable ``denoise(sample=..., timestep=..., **inputs) -> output`` taking
keyword arguments named as the model's ONNX inputs: a PyTorch module, or an onnxruntime session
through ``onnx_denoiser``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler
from diffusers.schedulers import scheduling_ddpm
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from magicvideo_models.noise import NoisePurpose, seeded_gaussian_tensor, stream_id

SamplerName = Literal["ddpm", "ddim", "dpmpp-2m", "euler"]
SAMPLER_NAMES: tuple[SamplerName, ...] = ("ddpm", "ddim", "dpmpp-2m", "euler")

_SCHEDULER_CLASSES: dict[str, type[SchedulerMixin]] = {
    "ddpm": DDPMScheduler,
    "ddim": DDIMScheduler,
    "dpmpp-2m": DPMSolverMultistepScheduler,
    "euler": EulerDiscreteScheduler,
}
# What the sampler name fixes, over whatever the manifest's scheduler config says.
_SAMPLER_SETTINGS: dict[str, dict[str, Any]] = {
    "ddpm": {},
    "ddim": {},
    "dpmpp-2m": {"algorithm_type": "dpmsolver++", "solver_order": 2},
    "euler": {},
}


@dataclass(frozen=True)
class NoiseStreams:
    """The two noise purposes of one diffusion stage (docs/noise.md, "Streams")."""

    initial: NoisePurpose
    step: NoisePurpose


KEYFRAME_STREAMS = NoiseStreams(NoisePurpose.KEYFRAME_INITIAL_LATENTS, NoisePurpose.KEYFRAME_STEP_NOISE)
INTERP_STREAMS = NoiseStreams(NoisePurpose.INTERP_INITIAL_LATENTS, NoisePurpose.INTERP_STEP_NOISE)
SR_STREAMS = NoiseStreams(NoisePurpose.SR_INITIAL_NOISE, NoisePurpose.SR_STEP_NOISE)


class Denoiser(Protocol):
    def __call__(self, *, sample: torch.Tensor, timestep: torch.Tensor, **inputs: torch.Tensor) -> Any: ...


def make_scheduler(sampler: SamplerName, scheduler_config: Mapping[str, Any]) -> SchedulerMixin:
    """diffusers' scheduler for ``sampler`` from a manifest's scheduler config (diffusers' key names)."""
    if sampler not in _SCHEDULER_CLASSES:
        raise ValueError(f"unknown sampler {sampler!r}, expected one of {', '.join(SAMPLER_NAMES)}")
    config = {**scheduler_config, **_SAMPLER_SETTINGS[sampler]}
    return _SCHEDULER_CLASSES[sampler].from_config(config)


def classifier_free_guidance(
    uncond_output: torch.Tensor, cond_output: torch.Tensor, scale: float
) -> torch.Tensor:
    """Ho & Salimans (2022): ``uncond + scale * (cond - uncond)``."""
    return uncond_output + scale * (cond_output - uncond_output)


@contextmanager
def _ddpm_variance_noise(noise: torch.Tensor) -> Iterator[None]:
    """Makes ``DDPMScheduler.step`` add ``noise`` as its variance noise.

    diffusers 0.42's DDPM step draws it inside ``step`` with ``randn_tensor(model_output.shape,
    generator=..., device=..., dtype=model_output.dtype)`` and adds
    ``_get_variance(t) ** 0.5 * variance_noise`` (variance_type "fixed_small") for t > 0; there is
    no argument to pass it in. Swapping that one call keeps every other line of the step
    diffusers' own; test_sampling proves it equals the generator path on the same numbers.
    """
    draw = scheduling_ddpm.randn_tensor

    def seeded_draw(shape: Sequence[int], **kwargs: Any) -> torch.Tensor:
        if tuple(shape) != tuple(noise.shape):
            raise ValueError(
                f"DDPM asked for noise of shape {tuple(shape)}, the sampler drew {tuple(noise.shape)}"
            )
        return noise.to(device=kwargs.get("device"), dtype=kwargs.get("dtype"))

    scheduling_ddpm.randn_tensor = seeded_draw
    try:
        yield
    finally:
        scheduling_ddpm.randn_tensor = draw


def ddpm_step_with_noise(
    scheduler: DDPMScheduler,
    model_output: torch.Tensor,
    timestep: int | torch.Tensor,
    sample: torch.Tensor,
    noise: torch.Tensor,
) -> torch.Tensor:
    """One ``DDPMScheduler.step`` whose variance noise is ``noise`` (unused at t = 0)."""
    with _ddpm_variance_noise(noise):
        return scheduler.step(model_output, timestep, sample).prev_sample


def _as_tensor(value: Any) -> torch.Tensor:
    return value if isinstance(value, torch.Tensor) else torch.from_numpy(np.asarray(value))


def _batched(inputs: Mapping[str, torch.Tensor], repeats: int) -> dict[str, torch.Tensor]:
    return {name: torch.cat([value] * repeats) if repeats > 1 else value for name, value in inputs.items()}


@torch.no_grad()
def sample(
    denoise: Denoiser | Callable[..., Any],
    cond: Mapping[str, torch.Tensor],
    uncond: Mapping[str, torch.Tensor] | None = None,
    *,
    sampler: SamplerName,
    steps: int,
    guidance_scale: float,
    seed: int,
    shape: Sequence[int],
    scheduler_config: Mapping[str, Any],
    shared: Mapping[str, torch.Tensor] | None = None,
    streams: NoiseStreams = KEYFRAME_STREAMS,
    eta: float = 0.0,
) -> torch.Tensor:
    """Sample one latent tensor of ``shape`` (batch first, e.g. ``[1, C, F, h, w]``).

    ``cond`` and ``uncond`` hold the inputs that differ between the guidance branches (the
    key-frame U-Net's ``encoder_hidden_states``); ``shared`` the ones that do not (``fps``,
    the interpolation U-Net's ``neighbours``, the SR U-Net's ``low_res`` and ``noise_level``),
    each with the sample's batch size. ``eta`` is DDIM's (0: deterministic).
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    scheduler = make_scheduler(sampler, scheduler_config)
    scheduler.set_timesteps(steps)
    guided = uncond is not None and guidance_scale > 1.0
    if uncond is not None and set(uncond) != set(cond):
        raise ValueError(
            f"cond and uncond must have the same inputs, got {sorted(cond)} and {sorted(uncond)}"
        )

    # docs/models.md "Sampling": both branches in one call, uncond first
    branch_inputs = {name: torch.cat([uncond[name], cond[name]]) for name in cond} if guided else dict(cond)
    branches = 2 if guided else 1
    model_inputs = {**branch_inputs, **_batched(shared or {}, branches)}

    latents = seeded_gaussian_tensor(seed, stream_id(streams.initial, 0), shape) * scheduler.init_noise_sigma
    for step_number, timestep in enumerate(scheduler.timesteps):
        model_input = scheduler.scale_model_input(torch.cat([latents] * branches), timestep)
        timesteps = torch.full((model_input.shape[0],), float(timestep), dtype=torch.float32)
        output = _as_tensor(denoise(sample=model_input, timestep=timesteps, **model_inputs)).to(torch.float32)
        if guided:
            uncond_output, cond_output = output.chunk(2)
            output = classifier_free_guidance(uncond_output, cond_output, guidance_scale)
        latents = _step(scheduler, sampler, output, timestep, latents, seed, streams, step_number, eta)
    return latents


def _step(
    scheduler: SchedulerMixin,
    sampler: SamplerName,
    model_output: torch.Tensor,
    timestep: torch.Tensor,
    latents: torch.Tensor,
    seed: int,
    streams: NoiseStreams,
    step_number: int,
    eta: float,
) -> torch.Tensor:
    def step_noise() -> torch.Tensor:
        return seeded_gaussian_tensor(seed, stream_id(streams.step, step_number), tuple(latents.shape))

    if sampler == "ddpm":
        return ddpm_step_with_noise(scheduler, model_output, timestep, latents, step_noise())
    if sampler == "ddim":
        noise = step_noise() if eta > 0 else None
        return scheduler.step(model_output, timestep, latents, eta=eta, variance_noise=noise).prev_sample
    return scheduler.step(model_output, timestep, latents).prev_sample


_ORT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


def onnx_denoiser(session: Any) -> Callable[..., torch.Tensor]:
    """A denoiser over an onnxruntime ``InferenceSession``.

    Each input is cast to the dtype the model declares (a timestep may be int64 or float32,
    activations float16; docs/models.md "Dtypes"); integer timesteps are rounded. The first
    output comes back as float32.
    """
    input_dtypes = {value.name: _ORT_DTYPES[value.type] for value in session.get_inputs()}

    def denoise(**inputs: torch.Tensor) -> torch.Tensor:
        feeds = {}
        for name, dtype in input_dtypes.items():
            value = inputs[name].detach().cpu().numpy()
            if np.issubdtype(dtype, np.integer):
                value = np.rint(value)
            feeds[name] = value.astype(dtype)
        (output, *_) = session.run(None, feeds)
        return torch.from_numpy(np.asarray(output, dtype=np.float32))

    return denoise
