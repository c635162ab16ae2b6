"""Train the key-frame U-Net: unsupervised pre-training, then text fine-tuning (paper §3.1.3).

    python -m magicvideo_models.training.train_keyframe_unet --out runs/keyframe_unet
        [--unsupervised-steps N --text-steps M --batch-size B --threads T --init-from SNAPSHOT]

One run, two phases split at a step boundary (as train_vae's two phases): one command, one
checkpoint, one learning-rate schedule and one EMA across both, so a run stopped anywhere
resumes in the right phase, and the text phase fine-tunes at the lower learning rate the cosine
has reached by then.

- Steps 0 … N−1, unsupervised (§3.1.3, "the embeddings of video frames are used as proxies of
  text conditions"): the context the U-Net cross-attends to is the clip's 16 key-frame CLIP image
  embeddings, [B, 16, E], one token per frame, in frame order (E = D = 128 in tiny, so no
  projection). Cross-attention takes any number of tokens, and a frame token carries what a
  caption names (colour, shape, and through its place in the sequence, where the object is at
  that frame), so the U-Net learns to generate a clip "described by" its own frames, as the
  paper's proxy intends; the text encoder is not involved.
- Steps N … N+M−1, text (eq. 6): the context is the frozen text encoder's last_hidden_state of
  the caption, [B, 77, D]; with probability --condition-dropout the caption is "" (the
  empty-prompt embedding the samplers use as uncond), so classifier-free guidance works.
  With --repeat-caption-states the positions after the caption's EOS hold the caption's own
  states repeated (text_encoder.py) instead of the padding's whole-caption summaries, so the
  U-Net has to read the words, which a held-out combination needs (docs/design-notes.md); the export
  reads the flag from keyframe_unet.json and builds the folder's text encoder to match.

Both phases: latents = VAE latents × the VAE's measured latent_scaling_factor (vae.json);
t uniform in [0, 1000), z_t = √ᾱ_t z_0 + √(1 − ᾱ_t) ε with the manifest's scheduler
(model_set.SchedulerConfig), loss ‖ε − ε_θ(z_t, t, y, ν)‖² summed over the 16 frames (eq. 6;
MSE is that up to a constant), each example weighted by min(SNR_t, γ)/SNR_t (--min-snr-gamma,
loss_weighting.py: the easy low-noise steps stop dominating the gradient; 0 turns it off);
ν = 16/Ls · FPS per clip (eq. 5). AdamW, linear warm-up then
cosine, gradient clipping, an EMA of the weights (the exported weights are the EMA's).

Data: a fixed pool of --pool-clips training clips, encoded once (latent_cache.py); the first
epoch goes through the pool in order (filling the cache shard by shard), later ones in a seeded
permutation. Time reversal doubles the pool for free and exactly: playing a clip backwards is a
clip of the same object moving the opposite way (per-frame latents and embeddings just reverse),
so with probability --reverse-fraction an example is reversed and re-captioned, unless the
reversed combination is one training must never see (the held-out test of composition).

Every --sample-every steps: --sample-clips val clips sampled with the EMA weights (DDIM,
--sample-steps, guidance --guidance-scale in the text phase), decoded by the VideoVAE, judged
(colour, shape, motion). At the end: the same on --eval-clips val and heldout clips, and the
float16 EMA weights + JSON in --weights-out (keyframe_unet.safetensors).

Defaults are sized for this machine (tiny, batch 16, one CPU thread shared with other runs):
about 1.45 s per unsupervised step, 1.85 s per text step (the 77-token context and the text
encoder), plus 0.19 s per clip while the pool is first encoded (13 min for 4096 clips); 1000 +
2400 steps with the sample checks and the final 200-clip evaluation take about 2 h.

Stopping: SIGTERM or SIGINT ends the current step, writes the checkpoint and a float16 EMA
snapshot keyframe_unet.partial.safetensors + .json in --weights-out, and exits. Resume from the
checkpoint (same --out) or, without it, from the snapshot: --init-from that file (weights and
step count; a fresh optimizer, re-warmed over --warmup-steps).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import DDPMScheduler
from safetensors.torch import save_file
from torch import nn

from magicvideo_models.keyframe_unet import KeyframeUNet
from magicvideo_models.model_set import ModelSetConfig, model_seed
from magicvideo_models.sampling import KEYFRAME_STREAMS, sample
from magicvideo_models.shapes.grammar import caption_for, time_reversed
from magicvideo_models.shapes.heldout import is_heldout
from magicvideo_models.shapes.judge import judge_clip
from magicvideo_models.training.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from magicvideo_models.training.decoded_frame_loss import decoded_frame_loss, true_keyframes
from magicvideo_models.training.latent_cache import (
    DEFAULT_CACHE_ROOT,
    SHARD_CLIPS,
    FrozenEncoders,
    LatentCache,
    load_frozen_encoders,
)
from magicvideo_models.training.loss_weighting import (
    clean_from_epsilon,
    clean_sample_weights,
    min_snr_weights,
    weighted_mse,
)
from magicvideo_models.training.lr_schedule import cosine_learning_rate
from magicvideo_models.training.run_config import config_dict, parse_dataclass_config
from magicvideo_models.training.run_log import RunLog
from magicvideo_models.training.shapes_dataset import (
    evaluation_clips,
    signed_to_uint8,
    step_generator,
    step_rng,
)
from magicvideo_models.training.stop_request import StopRequest
from magicvideo_models.training.train_clip import CaptionIds
from magicvideo_models.training.trained_weights import DEFAULT_WEIGHTS_FOLDER, read_weights_snapshot

STAGE = "keyframe_unet"
PARTIAL = "partial"
# salts of this stage's per-step randomness (shapes_dataset uses 1–3)
EPOCH_ORDER = 11
AUGMENTATION = 12
PIXEL_WINDOW = 14  # (13 is train_interp_unet's pair choice)


@dataclass
class KeyframeTrainingConfig:
    out: Path = Path("runs/keyframe_unet")
    weights_out: Path = DEFAULT_WEIGHTS_FOLDER
    encoders_from: Path = DEFAULT_WEIGHTS_FOLDER  # trained clip + vae stages
    cache_root: Path = DEFAULT_CACHE_ROOT
    init_from: str = ""  # a weights snapshot (.safetensors beside its .json) to start from
    # with --init-from: start at step 0 on this run's own schedule (a fine-tune, e.g. on new
    # encoders) instead of continuing the snapshot's step count and history
    init_weights_only: bool = False
    model_set: str = "tiny"
    unsupervised_steps: int = 1000
    text_steps: int = 2400
    batch_size: int = 16
    pool_clips: int = 4096
    cache_shard_clips: int = SHARD_CLIPS
    lr: float = 4e-4
    warmup_steps: int = 200
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    condition_dropout: float = 0.1
    # the text encoder's padding states replaced by the caption's own (text_encoder.py); recorded
    # in the summary, which is how export builds the folder's text encoder to match
    repeat_caption_states: bool = False
    min_snr_gamma: float = 5.0  # loss weight min(SNR_t, γ)/SNR_t (loss_weighting.py); 0: plain eq. 6
    reverse_fraction: float = 0.5
    # weight of the decoded key frames' error beside the latent loss (decoded_frame_loss.py); 0: off
    pixel_weight: float = 0.0
    pixel_examples: int = 2  # examples of each batch decoded for it
    pixel_frames: int = 4  # consecutive key frames of each, at a seeded offset
    seed: int = 0
    data_seed: int = 0
    threads: int = 2
    log_every: int = 10
    checkpoint_every: int = 50
    sample_every: int = 250
    sample_clips: int = 8
    sample_steps: int = 20
    guidance_scale: float = 7.5
    eval_clips: int = 100  # per split (val, heldout) at the end
    eval_steps: int = 25
    quiet: bool = False

    RESUMABLE: frozenset[str] = field(
        default=frozenset(
            {
                "out",
                "weights_out",
                "encoders_from",
                "cache_root",
                "init_from",
                "text_steps",
                "threads",
                "log_every",
                "checkpoint_every",
                "sample_every",
                "sample_clips",
                "sample_steps",
                "guidance_scale",
                "eval_clips",
                "eval_steps",
                "quiet",
            }
        ),
        repr=False,
    )

    @property
    def steps(self) -> int:
        return self.unsupervised_steps + self.text_steps

    def phase(self, step: int) -> str:
        return "unsupervised" if step < self.unsupervised_steps else "text"

    def to_dict(self) -> dict:
        return config_dict(self)


# ---------------------------------------------------------------- shared with train_interp_unet


def ema_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).requires_grad_(False).eval()


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float, updates: int) -> None:
    """ema ← ema + (1 − d)(model − ema), d = min(decay, (1 + n)/(10 + n)) after n updates
    (diffusers' EMAModel warm-up: early averages don't drag in the random initialisation)."""
    effective = min(decay, (1 + updates) / (10 + updates))
    ema_params = list(ema.parameters())
    torch._foreach_lerp_(ema_params, [p.detach() for p in model.parameters()], 1.0 - effective)


def rewarmed_learning_rate(lr: float, step: int, warm_start_step: int, warmup_steps: int) -> float:
    """After --init-from (fresh optimizer state mid-schedule) the schedule's rate ramps up again."""
    if warm_start_step <= 0:
        return lr
    return lr * min(1.0, (step - warm_start_step + 1) / max(1, warmup_steps))


def write_float16_weights(
    path: Path, tensors: Mapping[str, torch.Tensor], summary: Mapping[str, Any]
) -> Path:
    """`path` (.safetensors, float16 floats, as trained_weights.save_stage_weights) and its .json."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = {
        name: (tensor.detach().to(torch.float16) if tensor.is_floating_point() else tensor.detach())
        .cpu()
        .contiguous()
        for name, tensor in tensors.items()
    }
    save_file(stored, str(path), metadata={"written": time.strftime("%Y-%m-%dT%H:%M:%S")})
    path.with_suffix(".json").write_text(json.dumps(dict(summary), indent=2) + "\n")
    return path


def diffusion_scheduler(model_set: ModelSetConfig) -> DDPMScheduler:
    scheduler = DDPMScheduler.from_config(asdict(model_set.scheduler))
    if scheduler.config.prediction_type != "epsilon":
        raise ValueError(
            f"this stage trains epsilon prediction; the config asks for {scheduler.config.prediction_type}"
        )
    return scheduler


# ---------------------------------------------------------------- this stage


@lru_cache(maxsize=4)
def epoch_order(seed: int, epoch: int, pool: int) -> np.ndarray:
    """Pool order of an epoch: in order first (the cache fills shard by shard), then shuffled."""
    if epoch == 0:
        return np.arange(pool)
    return np.random.default_rng([seed, epoch, EPOCH_ORDER]).permutation(pool)


def pool_indices(seed: int, step: int, batch_size: int, pool: int) -> list[int]:
    """The pool clips of step `step`: positions step·B … step·B + B − 1 of the epochs' orders."""
    positions = range(step * batch_size, (step + 1) * batch_size)
    return [int(epoch_order(seed, p // pool, pool)[p % pool]) for p in positions]


@dataclass(frozen=True)
class TrainingBatch:
    latents: torch.Tensor  # [B, C, 16, h, w], scaled
    image_embeds: torch.Tensor  # [B, 16, E]
    fps: torch.Tensor  # [B]
    captions: list[str]
    # [P, 3, window, H, W] the true key frames first_keyframe … + window − 1 of the first P examples (as
    # played), in [-1, 1], when --pixel-weight > 0
    keyframes: torch.Tensor | None = None
    first_keyframe: int = 0


def augmented_batch(
    config: KeyframeTrainingConfig, cache: LatentCache, step: int, scaling: float
) -> TrainingBatch:
    """The step's pool clips, some played backwards (see the module docstring), captions redrawn
    for reversed clips, and in the text phase some captions dropped to "" (CFG)."""
    indices = pool_indices(config.data_seed, step, config.batch_size, config.pool_clips)
    clips = cache.clips(indices)
    rng = step_rng(config.seed, step, AUGMENTATION)
    latents, embeds, captions = clips.latents.clone(), clips.image_embeds.clone(), list(clips.captions)
    reversed_rows = []
    for i, attributes in enumerate(clips.attributes):
        reverse = rng.random() < config.reverse_fraction
        backwards = time_reversed(attributes)
        reversed_rows.append(reverse and not is_heldout(backwards.colour, backwards.shape, backwards.motion))
        if reversed_rows[-1]:
            latents[i] = latents[i].flip(1)
            embeds[i] = embeds[i].flip(0)
            captions[i] = caption_for(backwards.colour, backwards.shape, backwards.motion, rng)
        if config.phase(step) == "text" and rng.random() < config.condition_dropout:
            captions[i] = ""
    batch = TrainingBatch(latents * scaling, embeds, clips.fps, captions)
    if config.pixel_weight <= 0:
        return batch
    rows = min(config.pixel_examples, config.batch_size)
    window = min(config.pixel_frames, latents.shape[2])
    first = int(step_rng(config.seed, step, PIXEL_WINDOW).integers(latents.shape[2] - window + 1))
    frames = true_keyframes(config.data_seed, indices[:rows], reversed_rows[:rows], first, window)
    return replace(batch, keyframes=frames, first_keyframe=first)


def frames_of(encoders: FrozenEncoders, latents: torch.Tensor) -> np.ndarray:
    """Diffusion latents [B, C, F, h, w] → uint8 frames [B, F, H, W, 3] through the VideoVAE."""
    with torch.no_grad():
        video = encoders.vae.decode(latents.to(encoders.device) / encoders.latent_scaling_factor)
    return signed_to_uint8(video.movedim(1, 2))


@torch.no_grad()
def judged_samples(
    unet: KeyframeUNet,
    encoders: FrozenEncoders,
    caption_ids: CaptionIds,
    model_set: ModelSetConfig,
    split: str,
    count: int,
    *,
    phase: str,
    data_seed: int,
    steps: int,
    guidance_scale: float,
    seed: int,
) -> dict[str, float]:
    """Sample `count` clips of an evaluation split (text phase: from their captions, with
    guidance; unsupervised phase: from their own key frames' image embeddings), decode and judge.
    Rates of colour, shape, motion and all three agreeing with the clip's caption."""
    clips = evaluation_clips(data_seed, split, count)
    fps = torch.tensor([clip.fps_condition for clip in clips], dtype=torch.float32)
    uncond = None
    if phase == "text":
        cond = encoders.encode_text(caption_ids([clip.caption for clip in clips]))
        uncond = encoders.encode_text(caption_ids([""] * len(clips)))
    else:
        _, cond = encoders.encode_frames(np.stack([clip.keyframes for clip in clips]))
    latent_shape = (
        len(clips),
        model_set.latent_channels,
        model_set.frames,
        model_set.latent_size,
        model_set.latent_size,
    )
    parts = []
    for start in range(0, len(clips), 8):  # keep each U-Net call small
        part = slice(start, start + 8)
        parts.append(
            sample(
                unet,
                {"encoder_hidden_states": cond[part].to(encoders.device)},
                None if uncond is None else {"encoder_hidden_states": uncond[part].to(encoders.device)},
                sampler="ddim",
                steps=steps,
                guidance_scale=guidance_scale,
                seed=seed + start,
                shape=(len(clips[part]), *latent_shape[1:]),
                scheduler_config=asdict(model_set.scheduler),
                shared={"fps": fps[part].to(encoders.device)},
                streams=KEYFRAME_STREAMS,
            )
        )
    frames = frames_of(encoders, torch.cat(parts))
    verdicts = [judge_clip(video) for video in frames]
    truths = [clip.attributes for clip in clips]
    pairs = list(zip(verdicts, truths, strict=True))
    return {
        "colour": float(np.mean([v.colour == t.colour for v, t in pairs])),
        "shape": float(np.mean([v.shape == t.shape for v, t in pairs])),
        "motion": float(np.mean([v.motion == t.motion for v, t in pairs])),
        "all": float(np.mean([v.attributes() == t for v, t in pairs])),
        "clips": len(clips),
    }


def keyframe_model_set(config: KeyframeTrainingConfig) -> ModelSetConfig:
    """The model set, its text encoder as this run conditions on it."""
    model_set = ModelSetConfig.by_name(config.model_set)
    text_encoder = replace(model_set.text_encoder, repeat_caption_states=config.repeat_caption_states)
    return replace(model_set, text_encoder=text_encoder)


def format_rates(rates: Mapping[str, float]) -> str:
    return " ".join(f"{name} {rates[name]:.2f}" for name in ("colour", "shape", "motion", "all"))


def train(config: KeyframeTrainingConfig, stop: StopRequest | None = None) -> dict:
    """Run (or resume) the stage; returns the summary written beside the weights (the snapshot's
    when stopped early), plus "losses" {step: loss} of the steps this call ran."""
    if config.pixel_weight < 0 or config.pixel_examples < 1 or config.pixel_frames < 1:
        raise ValueError(
            "--pixel-weight must be ≥ 0 and --pixel-examples, --pixel-frames ≥ 1, got "
            f"{config.pixel_weight}, {config.pixel_examples}, {config.pixel_frames}"
        )
    torch.set_num_threads(config.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    stop = stop or StopRequest()
    log = RunLog(config.out, quiet=config.quiet)
    model_set = keyframe_model_set(config)
    encoders = load_frozen_encoders(config.encoders_from, model_set, device)
    cache = LatentCache(
        config.cache_root,
        encoders,
        config.model_set,
        config.data_seed,
        config.pool_clips,
        config.cache_shard_clips,
    )
    caption_ids = CaptionIds(model_set.text_encoder.vocab_size)
    scheduler = diffusion_scheduler(model_set)

    torch.manual_seed(model_seed(config.seed, "unet"))  # as model_set.build_models
    unet = KeyframeUNet(model_set.keyframe_unet).to(device)
    ema = ema_copy(unet)
    decay = [p for p in unet.parameters() if p.ndim >= 2]
    no_decay = [p for p in unet.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
        betas=(0.9, 0.999),
    )

    step, warm_start_step, recent_losses, train_seconds = 0, 0, [], 0.0
    loss_curve: list[list[float]] = []  # [step, mean loss of the log window], the whole run
    sample_checks: list[dict] = []
    checkpoint = config.out / CHECKPOINT_FILE
    if checkpoint.is_file():
        resumed = load_checkpoint(
            checkpoint,
            models={"unet": unet, "ema": ema},
            optimizer=optimizer,
            config=config.to_dict(),
            resumable_keys=config.RESUMABLE,
        )
        step, warm_start_step = resumed.step, resumed.extra["warm_start_step"]
        recent_losses, train_seconds = resumed.extra["recent_losses"], resumed.extra["train_seconds"]
        loss_curve = resumed.extra.get("loss_curve", [])
        sample_checks = resumed.extra["sample_checks"]
        log.note(f"resumed from {checkpoint} at step {step} ({config.phase(step)} phase)")
    elif config.init_from:
        state, summary = read_weights_snapshot(Path(config.init_from))
        unet.load_state_dict(state, strict=True)
        ema.load_state_dict(state, strict=True)
        if not config.init_weights_only:
            step = warm_start_step = int(summary["steps"])
            recent_losses = list(summary.get("recent_losses", []))
            loss_curve = list(summary.get("loss_curve", []))
            train_seconds = float(summary.get("train_seconds", 0.0))
            sample_checks = list(summary.get("sample_checks", []))
        log.note(f"config {config.to_dict()}")
        log.note(f"initialised from {config.init_from} at step {step}: fresh optimizer, re-warmed")
    else:
        log.note(f"config {config.to_dict()}")

    def summary(final: bool) -> dict:
        return {
            "stage": STAGE,
            "weights": "ema",
            "config": config.to_dict(),
            "model_set": config.model_set,
            "steps": step,
            "phase": config.phase(step) if step < config.steps else "done",
            "unsupervised_steps_done": min(step, config.unsupervised_steps),
            "text_steps_done": max(0, step - config.unsupervised_steps),
            "clips_seen": step * config.batch_size,
            "final_loss": float(np.mean(recent_losses[-50:])) if recent_losses else None,
            "recent_losses": recent_losses,
            "loss_curve": loss_curve,
            "sample_checks": sample_checks,
            "latent_scaling_factor": encoders.latent_scaling_factor,
            "encoders_digest": encoders.digest,
            "train_seconds": round(train_seconds, 1),
            "device": device,
            "finished": final,
        }

    def save() -> None:
        extra = {
            "recent_losses": recent_losses,
            "train_seconds": train_seconds,
            "warm_start_step": warm_start_step,
            "loss_curve": loss_curve,
            "sample_checks": sample_checks,
        }
        save_checkpoint(
            checkpoint,
            models={"unet": unet, "ema": ema},
            optimizer=optimizer,
            step=step,
            config=config.to_dict(),
            extra=extra,
        )

    def sample_check(split: str, count: int, steps: int) -> dict[str, float]:
        rates = judged_samples(
            ema,
            encoders,
            caption_ids,
            model_set,
            split,
            count,
            phase=config.phase(step - 1),
            data_seed=config.data_seed,
            steps=steps,
            guidance_scale=config.guidance_scale,
            seed=config.seed,
        )
        log.note(
            f"step {step} {config.phase(step - 1)} samples ({split}, {count}, ddim {steps}): "
            f"{format_rates(rates)}"
        )
        return rates

    losses: dict[int, float] = {}
    unet.train()
    while step < config.steps and not stop.requested:
        started = time.perf_counter()
        phase = config.phase(step)
        lr = cosine_learning_rate(
            step, max_lr=config.lr, warmup_steps=config.warmup_steps, total_steps=config.steps
        )
        lr = rewarmed_learning_rate(lr, step, warm_start_step, config.warmup_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = augmented_batch(config, cache, step, encoders.latent_scaling_factor)
        if phase == "unsupervised":
            context = batch.image_embeds.to(device)  # [B, 16, E]: the frames as proxy "text"
        else:
            context = encoders.encode_text(caption_ids(batch.captions))  # [B, 77, D]
        generator = step_generator(config.seed, step)
        timestep = torch.randint(
            0, scheduler.config.num_train_timesteps, (config.batch_size,), generator=generator
        )
        noise = torch.randn(batch.latents.shape, generator=generator)
        noisy = scheduler.add_noise(batch.latents, noise, timestep)

        prediction = unet(noisy.to(device), timestep.to(device, torch.float32), context, batch.fps.to(device))
        weights = min_snr_weights(scheduler.alphas_cumprod, timestep, config.min_snr_gamma)
        loss = weighted_mse(prediction, noise.to(device), weights)  # eq. 6, min-SNR weighted
        extra = {}
        if batch.keyframes is not None:  # and the frames they decode to (decoded_frame_loss.py)
            rows, window = batch.keyframes.shape[0], batch.keyframes.shape[2]
            frames = slice(batch.first_keyframe, batch.first_keyframe + window)
            clean = clean_from_epsilon(
                scheduler.alphas_cumprod,
                noisy[:rows, :, frames].to(device),
                prediction[:rows, :, frames],
                timestep[:rows],
            )
            frame_weights = clean_sample_weights(
                scheduler.alphas_cumprod, timestep[:rows], config.min_snr_gamma
            )
            frame_loss = decoded_frame_loss(
                encoders.vae, clean, batch.keyframes, frame_weights, encoders.latent_scaling_factor
            )
            loss = loss + config.pixel_weight * frame_loss
            extra["frames"] = frame_loss.item()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), config.grad_clip)
        optimizer.step()
        ema_update(ema, unet, config.ema_decay, step - warm_start_step)

        step += 1
        step_seconds = time.perf_counter() - started
        train_seconds += step_seconds
        losses[step] = loss.item()
        recent_losses = (recent_losses + [loss.item()])[-200:]
        if step % config.log_every == 0 or step == config.steps:
            loss_curve.append([step, round(float(np.mean(recent_losses[-config.log_every :])), 6)])
            log.step(
                step,
                config.steps,
                loss.item(),
                lr,
                step_seconds,
                unsupervised=float(phase == "unsupervised"),
                encoded_clips=cache.encoded_clips,
                **extra,
            )
        if config.sample_every > 0 and step % config.sample_every == 0:
            sample_checks.append(
                {
                    "step": step,
                    "phase": phase,
                    **sample_check("val", config.sample_clips, config.sample_steps),
                }
            )
        if step % config.checkpoint_every == 0 or step == config.steps:
            save()

    if step < config.steps:
        save()
        path = write_float16_weights(
            config.weights_out / f"{STAGE}.{PARTIAL}.safetensors", ema.state_dict(), summary(False)
        )
        log.note(f"stopped at step {step}: checkpoint {checkpoint}, EMA snapshot {path}")
        return summary(False) | {"losses": losses}

    evaluation = {
        split: sample_check(split, config.eval_clips, config.eval_steps) for split in ("val", "heldout")
    }
    final = summary(True) | {
        "evaluation": evaluation,
        "evaluation_sampler": {
            "sampler": "ddim",
            "steps": config.eval_steps,
            "guidance_scale": config.guidance_scale,
        },
    }
    path = write_float16_weights(config.weights_out / f"{STAGE}.safetensors", ema.state_dict(), final)
    log.note(f"wrote {path} and {path.with_suffix('.json').name} (EMA weights)")
    return final | {"losses": losses}


def parse_config(argv: Sequence[str] | None = None) -> KeyframeTrainingConfig:
    return parse_dataclass_config(KeyframeTrainingConfig, argv, __doc__)


def main(argv: Sequence[str] | None = None) -> None:
    stop = StopRequest()
    stop.install()
    train(parse_config(argv), stop)


if __name__ == "__main__":
    main()
