"""Scheduler test vectors: what diffusers' schedulers compute, step by step, for the TypeScript port.

`python -m magicvideo_models.scheduler_vectors --out libs/diffusion/test/fixtures/scheduler-vectors.json`

The TypeScript schedulers in libs/diffusion/src/schedulers must equal diffusers' DDPM, DDIM,
DPM-Solver++ 2M and Euler on the same inputs (DESIGN.md §6). This module runs the real
diffusers schedulers (float32 torch, as in a pipeline) on small deterministic samples and
records everything a port needs to be checked against, so the TypeScript tests need no Python:

- `alphas_cumprod` for the linear and scaled-linear beta schedules;
- `timestep_tables`: every scheduler's `timesteps` for each spacing and many step counts;
- `add_noise`: the forward process q(x_t | x_0) at chosen timesteps (SR noise augmentation);
- `cases`: one sampling run per scheduler x spacing x prediction type x step count (and DDIM
  with eta 0.5): per step the input sample, the scaled model input, the model output, the
  injected noise (DDPM's variance noise, DDIM's `variance_noise`) and `prev_sample`.

The "model" is a deterministic stand-in (a smooth function of the scaled input plus seeded
numpy noise), not a network: the vectors test the scheduler arithmetic, not a model.
Floats are written as the shortest decimal that round-trips their float32 value, so the file
is byte-for-byte reproducible and a reader gets the exact float32 back (Float32Array.from).
"""

from __future__ import annotations

import argparse
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin

SCHEDULER_NAMES = ("ddpm", "ddim", "dpmpp-2m", "euler")
SPACINGS = ("leading", "trailing", "linspace")
PREDICTION_TYPES = ("epsilon", "v_prediction")
BETA_SCHEDULES = ("scaled_linear", "linear")

# Stable Diffusion 1.x's noise schedule, which the key-frame U-Net inherits (paper §4).
NUM_TRAIN_TIMESTEPS = 1000
BETA_START = 0.00085
BETA_END = 0.012
STEPS_OFFSET = 1

# [1, C, h, w] = 16 floats: small enough to keep the file small, shaped like a latent.
SAMPLE_SHAPE = (1, 4, 2, 2)

TIMESTEP_TABLE_STEPS = (*range(1, 51), 64, 75, 100, 128, 250)
ADD_NOISE_TIMESTEPS = (0, 1, 20, 250, 350, 999)
METRIC = (
    "relative max error: max_i |actual_i - expected_i| / max(max_i |expected_i|, 1e-6); "
    "timesteps compare exactly"
)


@dataclass(frozen=True)
class VectorCase:
    """One sampling run to record: which scheduler, configured how, for how many steps."""

    scheduler: str
    spacing: str
    prediction_type: str
    num_inference_steps: int
    beta_schedule: str = "scaled_linear"
    eta: float = 0.0
    clip_sample: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        parts = [
            self.scheduler,
            self.spacing,
            self.prediction_type,
            self.beta_schedule,
            f"{self.num_inference_steps}steps",
        ]
        if self.eta:
            parts.append(f"eta{self.eta}")
        if self.clip_sample:
            parts.append("clip")
        return "/".join(parts)


def scheduler_config(
    scheduler: str, spacing: str, prediction_type: str, beta_schedule: str, clip_sample: bool = False
) -> dict[str, Any]:
    """The diffusers config (diffusers' own key names) for one scheduler, explicit about every default."""
    config: dict[str, Any] = {
        "num_train_timesteps": NUM_TRAIN_TIMESTEPS,
        "beta_start": BETA_START,
        "beta_end": BETA_END,
        "beta_schedule": beta_schedule,
        "prediction_type": prediction_type,
        "timestep_spacing": spacing,
        "steps_offset": STEPS_OFFSET,
    }
    if scheduler == "ddpm":
        config.update(clip_sample=clip_sample, variance_type="fixed_small")
    elif scheduler == "ddim":
        config.update(clip_sample=clip_sample, set_alpha_to_one=False)
    elif scheduler == "dpmpp-2m":
        config.update(
            algorithm_type="dpmsolver++",
            solver_order=2,
            solver_type="midpoint",
            lower_order_final=True,
            final_sigmas_type="zero",
        )
    elif scheduler == "euler":
        config.update(interpolation_type="linear", final_sigmas_type="zero")
    else:
        raise ValueError(f"unknown scheduler {scheduler!r}")
    return config


def make_scheduler(name: str, config: dict[str, Any]) -> SchedulerMixin:
    classes = {
        "ddpm": DDPMScheduler,
        "ddim": DDIMScheduler,
        "dpmpp-2m": DPMSolverMultistepScheduler,
        "euler": EulerDiscreteScheduler,
    }
    return classes[name](**config)


def float32_number(value: float | np.floating | torch.Tensor) -> float:
    """The float32 value as the shortest decimal that round-trips it in float32."""
    f32 = np.float32(value.item() if isinstance(value, torch.Tensor) else value)
    return float(np.format_float_scientific(f32, unique=True))


def float32_list(values: torch.Tensor | np.ndarray) -> list[float]:
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    return [float32_number(v) for v in np.asarray(array, dtype=np.float32).reshape(-1)]


def timestep_list(timesteps: torch.Tensor) -> list[int | float]:
    """Integer timesteps as ints; Euler's float32 timesteps as float32 numbers."""
    if timesteps.dtype.is_floating_point:
        return [float32_number(t) for t in timesteps]
    return [int(t) for t in timesteps]


def case_seed(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def stand_in_model(scaled_input: torch.Tensor, timestep: float, rng: np.random.Generator) -> torch.Tensor:
    """A deterministic pseudo-model output: smooth in the input, time-dependent, plus seeded noise."""
    x = scaled_input.numpy().astype(np.float64)
    out = 0.6 * np.tanh(x) + 0.1 * np.cos(timestep / 100.0) + 0.8 * rng.standard_normal(x.shape)
    return torch.from_numpy(out.astype(np.float32))


def record_case(case: VectorCase) -> dict[str, Any]:
    """Run one sampling loop the way a diffusers pipeline does, recording every step."""
    config = scheduler_config(
        case.scheduler, case.spacing, case.prediction_type, case.beta_schedule, case.clip_sample
    )
    scheduler = make_scheduler(case.scheduler, config)
    scheduler.set_timesteps(case.num_inference_steps)
    seed = case_seed(case.name)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)

    init_noise_sigma = scheduler.init_noise_sigma
    sample = torch.from_numpy(rng.standard_normal(SAMPLE_SHAPE).astype(np.float32)) * init_noise_sigma
    steps = []
    for timestep in scheduler.timesteps:
        scaled = scheduler.scale_model_input(sample, timestep)
        model_output = stand_in_model(scaled, float(timestep), rng)
        noise: torch.Tensor | None = None
        if case.scheduler == "ddpm":
            # DDPM draws its variance noise inside step() with torch.randn on this generator
            # (only for t > 0); draw the same numbers from a copy of its state to record them.
            if int(timestep) > 0:
                noise = torch.randn(
                    SAMPLE_SHAPE,
                    generator=torch.Generator().set_state(generator.get_state()),
                    dtype=torch.float32,
                )
            prev_sample = scheduler.step(model_output, timestep, sample, generator=generator).prev_sample
        elif case.scheduler == "ddim":
            if case.eta > 0:
                noise = torch.from_numpy(rng.standard_normal(SAMPLE_SHAPE).astype(np.float32))
            prev_sample = scheduler.step(
                model_output, timestep, sample, eta=case.eta, variance_noise=noise
            ).prev_sample
        else:
            prev_sample = scheduler.step(model_output, timestep, sample).prev_sample
        steps.append(
            {
                "timestep": timestep_list(timestep.reshape(1))[0],
                "sample": float32_list(sample),
                "scaled_model_input": float32_list(scaled),
                "model_output": float32_list(model_output),
                "noise": None if noise is None else float32_list(noise),
                "prev_sample": float32_list(prev_sample),
            }
        )
        sample = prev_sample

    return {
        "name": case.name,
        "scheduler": case.scheduler,
        "config": config,
        "num_inference_steps": case.num_inference_steps,
        "eta": case.eta,
        "timesteps": timestep_list(scheduler.timesteps),
        "init_noise_sigma": float32_number(init_noise_sigma),
        "steps": steps,
        "add_noise": record_scheduler_add_noise(case, config, rng),
    }


def record_scheduler_add_noise(
    case: VectorCase, config: dict[str, Any], rng: np.random.Generator
) -> dict[str, Any]:
    """img2img / SDEdit: noise a clean sample to the level of one inference step, as pipelines do.

    Pipelines call `set_begin_index` before `add_noise` for the sigma-based schedulers, so the
    step index, not a timestep lookup, picks the noise level.
    """
    scheduler = make_scheduler(case.scheduler, config)
    scheduler.set_timesteps(case.num_inference_steps)
    step_index = case.num_inference_steps // 2
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(step_index)
    original = torch.from_numpy(rng.standard_normal(SAMPLE_SHAPE).astype(np.float32))
    noise = torch.from_numpy(rng.standard_normal(SAMPLE_SHAPE).astype(np.float32))
    timestep = scheduler.timesteps[step_index : step_index + 1]
    noisy = scheduler.add_noise(original, noise, timestep)
    return {
        "step_index": step_index,
        "original": float32_list(original),
        "noise": float32_list(noise),
        "noisy": float32_list(noisy),
    }


def vector_cases() -> list[VectorCase]:
    cases: list[VectorCase] = []
    for scheduler in SCHEDULER_NAMES:
        for spacing in ("leading", "trailing"):
            for prediction_type in PREDICTION_TYPES:
                for steps in (4, 10):
                    cases.append(VectorCase(scheduler, spacing, prediction_type, steps))
    for spacing in ("leading", "trailing"):
        for prediction_type in PREDICTION_TYPES:
            for steps in (4, 10):
                cases.append(VectorCase("ddim", spacing, prediction_type, steps, eta=0.5))
    for scheduler in SCHEDULER_NAMES:
        # 7 linspace steps put Euler's timesteps between integers (999/6 = 166.5) and DDIM's
        # "previous timestep" (t - 1000 // 7) off the schedule.
        cases.append(VectorCase(scheduler, "linspace", "epsilon", 7, beta_schedule="linear"))
        cases.append(VectorCase(scheduler, "leading", "v_prediction", 10, beta_schedule="linear"))
        cases.append(VectorCase(scheduler, "trailing", "epsilon", 3, beta_schedule="linear"))
    for scheduler in ("ddpm", "ddim"):
        cases.append(VectorCase(scheduler, "leading", "epsilon", 10, clip_sample=True))
    # Past 15 steps DPM-Solver++ keeps second order up to the last step.
    cases.append(VectorCase("dpmpp-2m", "leading", "epsilon", 20))
    cases.append(VectorCase("dpmpp-2m", "linspace", "v_prediction", 25))
    return cases


def record_alphas_cumprod() -> dict[str, list[float]]:
    out = {}
    for beta_schedule in BETA_SCHEDULES:
        config = scheduler_config("ddpm", "leading", "epsilon", beta_schedule)
        out[beta_schedule] = float32_list(make_scheduler("ddpm", config).alphas_cumprod)
    return out


def record_timestep_tables() -> list[dict[str, Any]]:
    tables = []
    for scheduler_name in SCHEDULER_NAMES:
        for spacing in SPACINGS:
            config = scheduler_config(scheduler_name, spacing, "epsilon", "scaled_linear")
            scheduler = make_scheduler(scheduler_name, config)
            by_steps = {}
            for steps in TIMESTEP_TABLE_STEPS:
                scheduler.set_timesteps(steps)
                by_steps[str(steps)] = timestep_list(scheduler.timesteps)
            tables.append(
                {
                    "scheduler": scheduler_name,
                    "spacing": spacing,
                    "steps_offset": STEPS_OFFSET,
                    "timesteps_by_num_inference_steps": by_steps,
                }
            )
    return tables


def record_forward_process() -> list[dict[str, Any]]:
    """DDPMScheduler.add_noise at raw timesteps: the SR stage's noise conditioning augmentation."""
    records = []
    rng = np.random.default_rng(case_seed("add_noise"))
    for beta_schedule in BETA_SCHEDULES:
        config = scheduler_config("ddpm", "leading", "epsilon", beta_schedule)
        scheduler = make_scheduler("ddpm", config)
        for timestep in ADD_NOISE_TIMESTEPS:
            original = torch.from_numpy(rng.standard_normal(SAMPLE_SHAPE).astype(np.float32))
            noise = torch.from_numpy(rng.standard_normal(SAMPLE_SHAPE).astype(np.float32))
            noisy = scheduler.add_noise(original, noise, torch.tensor([timestep]))
            records.append(
                {
                    "beta_schedule": beta_schedule,
                    "timestep": timestep,
                    "original": float32_list(original),
                    "noise": float32_list(noise),
                    "noisy": float32_list(noisy),
                }
            )
    return records


def build_vectors() -> dict[str, Any]:
    return {
        "generator": "python -m magicvideo_models.scheduler_vectors",
        "diffusers_version": diffusers.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "metric": METRIC,
        "sample_shape": list(SAMPLE_SHAPE),
        "schedule": {
            "num_train_timesteps": NUM_TRAIN_TIMESTEPS,
            "beta_start": BETA_START,
            "beta_end": BETA_END,
        },
        "alphas_cumprod": record_alphas_cumprod(),
        "timestep_tables": record_timestep_tables(),
        "add_noise": record_forward_process(),
        "cases": [record_case(case) for case in vector_cases()],
    }


def to_json(value: Any, indent: int = 0) -> str:
    """JSON with one array of numbers per line: diffable, yet a few hundred kB, not megabytes."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad} {json.dumps(k)}: {to_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        items = [f"{pad} {to_json(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def write_vectors(out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_json(build_vectors()) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON vectors")
    args = parser.parse_args()
    torch.set_num_threads(1)
    write_vectors(args.out)


if __name__ == "__main__":
    main()
