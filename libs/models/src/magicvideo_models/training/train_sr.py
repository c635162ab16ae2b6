"""Train the super-resolution U-Net (64² → 256²) with noise conditioning augmentation.

    python -m magicvideo_models.training.train_sr --out runs/sr [--steps N --batch-size B
        --lr LR --seed S --threads T]

Paper §3.4 (after SR3 [37] and Imagen's noise conditioning augmentation [35]), at this set's
scale: the model learns on random 64×64 crops of 256×256 key frames (the paper: 512² crops of
1024² images) and runs on whole frames. Each training example:

- the high-res crop x0 of a 256² key frame, and the same crop of the clip's own 64² render of
  that instant upsampled ×4 bicubically (PyTorch's bicubic, align_corners=False, as the serving
  runtime's super-resolution stage). The whole frame is upsampled before cropping, so crop
  borders see exactly what they see when the model runs on a whole frame;
- crops centred near the object (jittered) 3 times in 4, anywhere otherwise: most of a frame is
  flat background, which teaches nothing after the first steps;
- noise conditioning augmentation: a level n = --max-noise-level · u^--noise-level-power (u
  uniform; power 2 puts a quarter of the examples at or below the runtime's default level 20
  and still reaches 350) per example, the low-res input becomes √ᾱ_n·low + √(1 − ᾱ_n)·ε with
  the SR schedule's ᾱ, and n is the model's noise_level input
  (model_set.SchedulerConfig.super_resolution);
- diffusion: t uniform in [0, 1000), x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε. The residual
  parametrisation (sr_unet.py) is trained on |x0_estimate − x0|² / σ_r² (the network's own
  output against the residual at unit scale), each example's divided by 1 + (1 − ᾱ_n) /
  (s²·σ_r²), the share of the averaged augmentation noise in its residual, so that the
  heavily augmented examples do not drown the lightly augmented ones the runtime uses; the
  direct parametrisation with the v-prediction MSE, v = √ᾱ_t·ε − √(1 − ᾱ_t)·x0.

Resumes from OUT/checkpoint.pt when present; SIGTERM or SIGINT ends the current step, writes that
checkpoint and exits (stop_request.py).

At the end, on whole held-out (val) key frames (the middle one of --eval-clips clips): the
manifest's default sampler, SR steps and noise level through sampling.sample (the reference
sampler, seeded as the runtime), PSNR of the result and of plain bicubic against the true 256²
frames, and on the true frames' edges (edge_sharpness): PSNR there and the gradient magnitude
relative to the truth's (1 = as sharp; bicubic's is below 1, leftover noise pushes it above).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler

from magicvideo_models.model_set import ModelSetConfig, model_seed
from magicvideo_models.noise import NoisePurpose, seeded_gaussian_tensor, stream_id
from magicvideo_models.sampling import SR_STREAMS, sample
from magicvideo_models.shapes.clips import INTERPOLATION_FACTOR, KEYFRAME_COUNT, ShapesClip, window_times
from magicvideo_models.sr_unet import SRUNet
from magicvideo_models.training.checkpoint import CHECKPOINT_FILE, save_checkpoint
from magicvideo_models.training.lr_schedule import cosine_learning_rate
from magicvideo_models.training.run_config import (
    config_dict,
    parse_dataclass_config,
    resume_or_start,
    set_learning_rate,
)
from magicvideo_models.training.run_log import RunLog
from magicvideo_models.training.shapes_dataset import (
    CROP_CHOICE,
    evaluation_clips,
    psnr,
    signed_pixels,
    step_generator,
    step_rng,
    training_clips,
)
from magicvideo_models.training.stop_request import StopRequest, stopped_run
from magicvideo_models.training.trained_weights import DEFAULT_WEIGHTS_FOLDER, save_stage_weights

STAGE = "sr"
OBJECT_CROP_FRACTION = 0.75


@dataclass
class SrTrainingConfig:
    out: Path = Path("runs/sr")
    weights_out: Path = DEFAULT_WEIGHTS_FOLDER
    model_set: str = "tiny"
    steps: int = 2400  # the shipped run: ~35 min at 1 thread on this 2-core machine, shared
    clips_per_step: int = 4  # rendering clips is half a step's time: more crops per clip
    crops_per_clip: int = 8  # batch = clips_per_step × crops_per_clip crops
    crop_size: int = 64
    max_noise_level: int = 350  # as SD's x4 upscaler
    noise_level_power: float = 2.0  # level = max · u^power, u uniform (1: uniform levels)
    lr: float = 5e-4
    warmup_steps: int = 100
    seed: int = 0
    data_seed: int = 0
    threads: int = 2
    log_every: int = 10
    checkpoint_every: int = 100
    eval_clips: int = 32  # one whole key frame each
    quiet: bool = False

    RESUMABLE: frozenset[str] = field(
        default=frozenset(
            {"out", "weights_out", "steps", "threads", "log_every", "checkpoint_every", "eval_clips", "quiet"}
        ),
        repr=False,
    )

    def to_dict(self) -> dict:
        return config_dict(self)


def upsampled(low_res: torch.Tensor, scale: int) -> torch.Tensor:
    """Frames [N, 3, h, w] → [N, 3, scale·h, scale·w], bicubic as the serving runtime (unclamped)."""
    return F.interpolate(low_res, scale_factor=scale, mode="bicubic", align_corners=False)


def noise_augmented(
    low_res: torch.Tensor, noise_level: torch.Tensor, alphas_cumprod: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """√ᾱ_n·low_res + √(1 − ᾱ_n)·noise per example (noise conditioning augmentation, paper §3.4)."""
    alpha_bar = alphas_cumprod[noise_level].view(-1, 1, 1, 1).to(low_res.dtype)
    return alpha_bar.sqrt() * low_res + (1 - alpha_bar).sqrt() * noise


def crop_batch(
    clips: Sequence[ShapesClip], rng: np.random.Generator, crops_per_clip: int, crop_size: int, scale: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(high-res crops, upsampled low-res crops), each [B, 3, crop, crop] in [-1, 1]."""
    high, low = [], []
    for clip in clips:
        size = clip.high_res_keyframes.shape[1]
        keyframe_times = window_times(clip.window_length)[::INTERPOLATION_FACTOR]
        for _ in range(crops_per_clip):
            k = int(rng.integers(KEYFRAME_COUNT))
            if rng.random() < OBJECT_CROP_FRACTION:
                centre = np.array(clip.scene.centre_at(float(keyframe_times[k]))) * size
                corner = centre - crop_size / 2 + rng.uniform(-crop_size * 0.4, crop_size * 0.4, size=2)
                left, top = np.clip(np.rint(corner), 0, size - crop_size).astype(int)
            else:
                left, top = rng.integers(size - crop_size + 1, size=2)
            window = (slice(None), slice(top, top + crop_size), slice(left, left + crop_size))
            high.append(signed_pixels(clip.high_res_keyframes[k])[window])
            low.append(
                upsampled_crop(signed_pixels(clip.keyframes[k]), int(top), int(left), crop_size, scale)
            )
    return torch.stack(high), torch.stack(low)


def upsampled_crop(low_res: torch.Tensor, top: int, left: int, crop_size: int, scale: int) -> torch.Tensor:
    """upsampled(low_res)[:, top:top + crop, left:left + crop] for one frame [3, h, w], from a
    window of low_res only: bicubic reaches 2 low-res pixels beyond the ones an output pixel
    falls between, and clamps at the frame's border, which a window starting at 0 shares."""

    def low_res_span(start: int, extent: int) -> tuple[int, int]:
        return max(0, start // scale - 2), min(extent, (start + crop_size - 1) // scale + 3)

    (row_start, row_end), (column_start, column_end) = (
        low_res_span(top, low_res.shape[1]),
        low_res_span(left, low_res.shape[2]),
    )
    window = upsampled(low_res[None, :, row_start:row_end, column_start:column_end], scale)[0]
    row, column = top - row_start * scale, left - column_start * scale
    return window[:, row : row + crop_size, column : column + crop_size]


EDGE_GRADIENT = 0.2  # a true gradient magnitude above this (in [-1, 1] units per pixel) is an edge


def gradient_magnitude(frames: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] → [N, H − 1, W − 1]: forward differences, L2 over both axes and the channels."""
    dx = frames[..., :-1, 1:] - frames[..., :-1, :-1]
    dy = frames[..., 1:, :-1] - frames[..., :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).sum(dim=1).sqrt()


def edge_sharpness(frames: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """On the truth's edges (gradient above EDGE_GRADIENT, widened by a pixel): PSNR there, and
    the mean gradient magnitude relative to the truth's (1 = as sharp as the true frames)."""
    true_gradient = gradient_magnitude(truth)
    edges = F.max_pool2d((true_gradient > EDGE_GRADIENT).float()[:, None], 3, stride=1, padding=1)[:, 0] > 0
    frames = frames.clamp(-1, 1)
    squared_error = (frames - truth)[..., :-1, :-1].pow(2).mean(dim=1)
    return {
        "edge_psnr_db": float(10 * np.log10(4.0 / max(squared_error[edges].mean().item(), 1e-12))),
        "edge_gradient_ratio": float(gradient_magnitude(frames)[edges].mean() / true_gradient[edges].mean()),
        "edge_pixel_fraction": float(edges.float().mean()),
    }


@torch.no_grad()
def evaluate_whole_frames(
    model: SRUNet, model_set: ModelSetConfig, clips: Sequence[ShapesClip], seed: int
) -> dict[str, float]:
    """Sample whole 256² frames from the middle key frames with the manifest defaults; PSNR of
    the samples and of bicubic against the true frames."""
    defaults = model_set.defaults
    middle = KEYFRAME_COUNT // 2
    truth = signed_pixels(np.stack([clip.high_res_keyframes[middle] for clip in clips]))
    bicubic = upsampled(
        signed_pixels(np.stack([clip.keyframes[middle] for clip in clips])), model_set.sr_scale
    )
    alphas_cumprod = DDPMScheduler.from_config(asdict(model_set.sr_scheduler)).alphas_cumprod
    level = defaults.sr_noise_level
    noise = seeded_gaussian_tensor(
        seed, stream_id(NoisePurpose.SR_NOISE_AUGMENTATION, 0), tuple(bicubic.shape)
    )
    low_res = noise_augmented(bicubic, torch.full((len(clips),), level), alphas_cumprod, noise)
    samples = sample(
        model,
        {},
        sampler=defaults.sampler,
        steps=defaults.sr_num_inference_steps,
        guidance_scale=1.0,
        seed=seed,
        shape=tuple(truth.shape),
        scheduler_config=asdict(model_set.sr_scheduler),
        shared={
            "low_res": low_res,
            "noise_level": torch.full((len(clips),), float(level)),
        },
        streams=SR_STREAMS,
    )
    return {
        "sr_psnr_db": psnr(samples, truth),
        "bicubic_psnr_db": psnr(bicubic, truth),
        "sr_edges": edge_sharpness(samples, truth),
        "bicubic_edges": edge_sharpness(bicubic, truth),
        "sampler": defaults.sampler,
        "steps": defaults.sr_num_inference_steps,
        "noise_level": level,
        "frames": len(clips),
    }


def train(config: SrTrainingConfig, stop: StopRequest | None = None) -> dict:
    """Run (or resume) the stage; returns the summary written beside the weights, plus
    "losses" {step: loss} of the steps this call ran."""
    torch.set_num_threads(config.threads)
    stop = stop or StopRequest()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    log = RunLog(config.out, quiet=config.quiet)
    model_set = ModelSetConfig.by_name(config.model_set)
    torch.manual_seed(model_seed(config.seed, "sr_unet"))  # as model_set.build_models
    model = SRUNet(model_set.sr_unet).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.99), weight_decay=0.0)
    scheduler = DDPMScheduler.from_config(asdict(model_set.sr_scheduler))
    alphas_cumprod = scheduler.alphas_cumprod
    if not torch.equal(model.alphas_cumprod.cpu(), alphas_cumprod) or (
        model.config.prediction_type != scheduler.config.prediction_type
    ):
        raise ValueError("the SR U-Net's schedule or prediction type is not the model set's SR scheduler's")
    if model.config.parametrisation == "direct" and scheduler.config.prediction_type != "v_prediction":
        raise ValueError("train_sr trains the direct parametrisation with v-prediction only")

    checkpoint = config.out / CHECKPOINT_FILE
    resumed = resume_or_start(
        checkpoint, models={"sr_unet": model}, optimizer=optimizer, config=config, log=log
    )
    step, recent_losses = resumed.step, resumed.extra["recent_losses"]
    train_seconds = resumed.extra["train_seconds"]

    def save() -> None:
        extra = {"recent_losses": recent_losses, "train_seconds": train_seconds}
        save_checkpoint(
            checkpoint,
            models={"sr_unet": model},
            optimizer=optimizer,
            step=step,
            config=config.to_dict(),
            extra=extra,
        )

    losses: dict[int, float] = {}
    model.train()
    while step < config.steps and not stop.requested:
        started = time.perf_counter()
        lr = cosine_learning_rate(
            step, max_lr=config.lr, warmup_steps=config.warmup_steps, total_steps=config.steps
        )
        set_learning_rate(optimizer, lr)
        clips = training_clips(
            config.data_seed, step, config.clips_per_step, high_resolution=model_set.sr_size
        )
        rng = step_rng(config.seed, step, CROP_CHOICE)
        high, low = crop_batch(clips, rng, config.crops_per_clip, config.crop_size, model_set.sr_scale)
        generator = step_generator(config.seed, step)
        batch = high.shape[0]
        uniform = torch.rand((batch,), generator=generator)
        noise_level = torch.round(config.max_noise_level * uniform**config.noise_level_power).long()
        low = noise_augmented(low, noise_level, alphas_cumprod, torch.randn(low.shape, generator=generator))
        timestep = torch.randint(0, scheduler.config.num_train_timesteps, (batch,), generator=generator)
        noise = torch.randn(high.shape, generator=generator)
        noisy = scheduler.add_noise(high, noise, timestep)
        inputs = (
            noisy.to(device),
            low.to(device),
            timestep.to(device, torch.float32),
            noise_level.to(device, torch.float32),
        )
        if model.config.parametrisation == "residual":
            residual_variance = model.config.residual_std**2
            augmentation = (1 - alphas_cumprod[noise_level]) / (model_set.sr_scale**2 * residual_variance)
            squared_error = (model.denoised(*inputs) - high.to(device)).pow(2) / residual_variance
            loss = (squared_error.mean(dim=(1, 2, 3)) / (1 + augmentation.to(device))).mean()
        else:
            loss = F.mse_loss(model(*inputs), scheduler.get_velocity(high, noise, timestep).to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

        step += 1
        step_seconds = time.perf_counter() - started
        train_seconds += step_seconds
        losses[step] = loss.item()
        recent_losses = (recent_losses + [loss.item()])[-50:]
        if step % config.log_every == 0 or step == config.steps:
            log.step(step, config.steps, loss.item(), lr, step_seconds)
        if step % config.checkpoint_every == 0 or step == config.steps:
            save()

    if step < config.steps:  # stopped by SIGTERM/SIGINT
        return stopped_run(STAGE, step, checkpoint, save, log, losses)

    # the reference sampler draws its seeded noise on the CPU; whole-frame evaluation runs there
    model.eval().to("cpu")
    val = evaluation_clips(config.data_seed, "val", config.eval_clips, high_resolution=model_set.sr_size)
    metrics = evaluate_whole_frames(model, model_set, val, config.seed)
    sr_edges, bicubic_edges = metrics["sr_edges"], metrics["bicubic_edges"]
    log.note(
        f"val whole frames ({metrics['frames']}, {metrics['sampler']} {metrics['steps']} steps, "
        f"noise level {metrics['noise_level']}): SR PSNR {metrics['sr_psnr_db']:.2f} dB, "
        f"bicubic {metrics['bicubic_psnr_db']:.2f} dB; on edges SR {sr_edges['edge_psnr_db']:.2f} dB, "
        f"gradient ×{sr_edges['edge_gradient_ratio']:.3f} of the truth's, bicubic "
        f"{bicubic_edges['edge_psnr_db']:.2f} dB, ×{bicubic_edges['edge_gradient_ratio']:.3f}"
    )
    summary = {
        "stage": STAGE,
        "config": config.to_dict(),
        "steps": step,
        "crops_seen": step * config.clips_per_step * config.crops_per_clip,
        "final_loss": float(np.mean(recent_losses[-20:])),
        "val_whole_frames": metrics,
        "train_seconds": round(train_seconds, 1),
        "device": device,
    }
    path = save_stage_weights(config.weights_out, STAGE, model.state_dict(), summary)
    log.note(f"wrote {path} and {path.with_suffix('.json').name}")
    return summary | {"losses": losses}


def parse_config(argv: Sequence[str] | None = None) -> SrTrainingConfig:
    return parse_dataclass_config(SrTrainingConfig, argv, __doc__)


def main(argv: Sequence[str] | None = None) -> None:
    stop = StopRequest()
    stop.install()
    train(parse_config(argv), stop)


if __name__ == "__main__":
    main()
