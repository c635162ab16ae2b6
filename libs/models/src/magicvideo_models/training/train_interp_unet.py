"""Train the frame interpolation U-Net from the key-frame U-Net (paper §3.2).

    python -m magicvideo_models.training.train_interp_unet --out runs/interp_unet
        [--keyframe-weights assets/checkpoints/magicvideo-shapes/keyframe_unet.safetensors
         --steps N --batch-size B --threads T --init-from SNAPSHOT]

"We initialize the interpolation U-Net with the key frame generation model" (InterpUNet.from_keyframe,
the key-frame U-Net's EMA weights), then train it on true middle frames: each example is one
training clip's neighbour pair, key frames 4k and 4k+4 of its 61 frames (k uniform in 0 … 14),
and the 3 frames between them, 4k+1 … 4k+3. The model sees the noisy middle latents, the two
neighbours' clean latents (concatenated inside the model) and the two neighbours' CLIP image
embeddings (cross-attention), all as the serving runtime's interpolation stage gives them
(scaled diffusion latents, raw image_embeds), and predicts the noise: eq. 6's epsilon loss
over the 3 frames, with the manifest's scheduler. No guidance at sampling, so no condition dropout.

Clips come fresh from the train stream, one per example (shapes_dataset.training_clips): this
stage encodes only 5 frames per example, and a run is short.

Defaults: about 2–2.7 s per step of 16 pairs on one shared CPU thread (the VAE encoding of 80
frames is most of it), so 500 steps take about 20 min.

Optimiser, schedule, EMA (exported), checkpoints, SIGTERM snapshot (interp_unet.partial.safetensors)
and --init-from work as in train_keyframe_unet. At the end: on val clips, the middle frames sampled
as the runtime samples them (DDIM, the manifest's interp steps), decoded with their neighbours by the
VideoVAE, PSNR against the true frames, beside two references: decoding the true middle latents (the
VAE's ceiling) and decoding the linear interpolation of the neighbours' latents (the naive baseline).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from magicvideo_models.interp_unet import InterpUNet
from magicvideo_models.keyframe_unet import KeyframeUNet
from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.sampling import INTERP_STREAMS, sample
from magicvideo_models.shapes.clips import INTERPOLATION_FACTOR, KEYFRAME_COUNT, ShapesClip
from magicvideo_models.training.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from magicvideo_models.training.latent_cache import FrozenEncoders, load_frozen_encoders
from magicvideo_models.training.lr_schedule import cosine_learning_rate
from magicvideo_models.training.run_config import config_dict, parse_dataclass_config
from magicvideo_models.training.run_log import RunLog
from magicvideo_models.training.shapes_dataset import (
    evaluation_clips,
    psnr,
    signed_pixels,
    step_generator,
    step_rng,
    training_clips,
)
from magicvideo_models.training.train_keyframe_unet import (
    PARTIAL,
    StopRequest,
    diffusion_scheduler,
    ema_copy,
    ema_update,
    read_weights_snapshot,
    rewarmed_learning_rate,
    write_float16_weights,
)
from magicvideo_models.training.trained_weights import DEFAULT_WEIGHTS_FOLDER

STAGE = "interp_unet"
PAIR_CHOICE = 13  # salt of the step's neighbour-pair choice
SPAN = INTERPOLATION_FACTOR + 1  # a neighbour pair and its middle frames: 5 of the 61 frames


@dataclass
class InterpTrainingConfig:
    out: Path = Path("runs/interp_unet")
    weights_out: Path = DEFAULT_WEIGHTS_FOLDER
    encoders_from: Path = DEFAULT_WEIGHTS_FOLDER
    keyframe_weights: Path = DEFAULT_WEIGHTS_FOLDER / "keyframe_unet.safetensors"
    init_from: str = ""  # an interp weights snapshot (.safetensors beside its .json)
    model_set: str = "tiny"
    steps: int = 500
    batch_size: int = 16
    lr: float = 2e-4
    # conv_in's neighbour channels start at zero (InterpUNet.from_keyframe) and grow by about lr per
    # step under Adam: at 1× a 550-step run left them at 5% of the noise channels' norm, so the model
    # barely read its neighbours (sampled middle frames 24.6 dB, below linear blending's 32.9 dB)
    conv_in_lr_multiplier: float = 20.0
    warmup_steps: int = 50
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    ema_decay: float = 0.998
    seed: int = 0
    data_seed: int = 0
    threads: int = 2
    log_every: int = 10
    checkpoint_every: int = 100
    eval_clips: int = 32
    quiet: bool = False

    RESUMABLE: frozenset[str] = field(
        default=frozenset(
            {
                "out",
                "weights_out",
                "encoders_from",
                "keyframe_weights",
                "init_from",
                "steps",
                "threads",
                "log_every",
                "checkpoint_every",
                "eval_clips",
                "quiet",
            }
        ),
        repr=False,
    )

    def to_dict(self) -> dict:
        return config_dict(self)


@dataclass(frozen=True)
class InterpBatch:
    neighbours: torch.Tensor  # [B, C, 2, h, w] scaled latents of key frames 4k and 4k+4
    middle: torch.Tensor  # [B, C, 3, h, w] scaled latents of frames 4k+1 … 4k+3 (x0)
    image_embeds: torch.Tensor  # [B, 2, E] of the two key frames
    truth: torch.Tensor  # [B, 3, 5, H, W] the 5 frames in [-1, 1]


def pair_batch(encoders: FrozenEncoders, clips: Sequence[ShapesClip], pairs: Sequence[int]) -> InterpBatch:
    """Clip i's neighbour pair pairs[i] (key frames 4k, 4k+4) and its 3 middle frames, encoded."""
    frames = np.stack(
        [
            clip.frames[INTERPOLATION_FACTOR * k : INTERPOLATION_FACTOR * k + SPAN]
            for clip, k in zip(clips, pairs, strict=True)
        ]
    )  # [B, 5, H, W, 3]
    latents, embeds = encoders.encode_frames(frames)
    latents = latents * encoders.latent_scaling_factor
    ends = [0, SPAN - 1]
    return InterpBatch(
        neighbours=latents[:, :, ends],
        middle=latents[:, :, 1 : SPAN - 1],
        image_embeds=embeds[:, ends],
        truth=signed_pixels(frames).movedim(1, 2),
    )


def decoded_middle_frames(
    encoders: FrozenEncoders, neighbours: torch.Tensor, middle: torch.Tensor
) -> torch.Tensor:
    """Decode the 5 frames [previous, 3 middle, next] together; the middle three, [B, 3, 3, H, W]."""
    latents = torch.cat([neighbours[:, :, :1], middle, neighbours[:, :, 1:]], dim=2)
    with torch.no_grad():
        video = encoders.vae.decode(latents.to(encoders.device) / encoders.latent_scaling_factor)
    return video[:, :, 1 : SPAN - 1].cpu()


@torch.no_grad()
def evaluate_middle_frames(
    model: InterpUNet,
    encoders: FrozenEncoders,
    model_set: ModelSetConfig,
    clips: Sequence[ShapesClip],
    seed: int,
) -> dict[str, float]:
    """PSNR of sampled middle frames, of the VAE's own reconstruction and of latent lerp."""
    pairs = step_rng(seed, 0, PAIR_CHOICE).integers(KEYFRAME_COUNT - 1, size=len(clips)).tolist()
    batch = pair_batch(encoders, clips, pairs)
    truth = batch.truth[:, :, 1 : SPAN - 1]
    steps = model_set.defaults.interp_num_inference_steps
    sampled = sample(
        model,
        {"image_embeds": batch.image_embeds.to(encoders.device)},
        sampler="ddim",
        steps=steps,
        guidance_scale=1.0,
        seed=seed,
        shape=tuple(batch.middle.shape),
        scheduler_config=asdict(model_set.scheduler),
        shared={"neighbours": batch.neighbours.to(encoders.device)},
        streams=INTERP_STREAMS,
    ).cpu()
    weights = torch.arange(1, SPAN - 1, dtype=torch.float32).view(1, 1, -1, 1, 1) / (SPAN - 1)
    lerp = batch.neighbours[:, :, :1] * (1 - weights) + batch.neighbours[:, :, 1:] * weights
    return {
        "sampled_psnr_db": psnr(decoded_middle_frames(encoders, batch.neighbours, sampled), truth),
        "true_latents_psnr_db": psnr(decoded_middle_frames(encoders, batch.neighbours, batch.middle), truth),
        "latent_lerp_psnr_db": psnr(decoded_middle_frames(encoders, batch.neighbours, lerp), truth),
        "sampler": "ddim",
        "steps": steps,
        "pairs": len(clips),
    }


def initial_model(config: InterpTrainingConfig, model_set: ModelSetConfig) -> InterpUNet:
    """InterpUNet.from_keyframe of the trained key-frame U-Net (§3.2)."""
    keyframe = KeyframeUNet(model_set.keyframe_unet)
    keyframe.load_state_dict(read_weights_snapshot(Path(config.keyframe_weights))[0], strict=True)
    return InterpUNet.from_keyframe(keyframe, model_set.image_encoder.projection_dim)


def train(config: InterpTrainingConfig, stop: StopRequest | None = None) -> dict:
    """Run (or resume) the stage; returns the summary written beside the weights (the snapshot's
    when stopped early), plus "losses" {step: loss} of the steps this call ran."""
    torch.set_num_threads(config.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    stop = stop or StopRequest()
    log = RunLog(config.out, quiet=config.quiet)
    model_set = ModelSetConfig.by_name(config.model_set)
    encoders = load_frozen_encoders(config.encoders_from, model_set, device)
    scheduler = diffusion_scheduler(model_set)

    checkpoint = config.out / CHECKPOINT_FILE
    step, warm_start_step, recent_losses, train_seconds = 0, 0, [], 0.0
    loss_curve: list[list[float]] = []  # [step, mean loss of the log window], the whole run
    if checkpoint.is_file():  # weights come from the checkpoint
        model = InterpUNet(model_set.interp_unet)
    elif config.init_from:
        model = InterpUNet(model_set.interp_unet)
        state, summary = read_weights_snapshot(Path(config.init_from))
        model.load_state_dict(state, strict=True)
        step = warm_start_step = int(summary["steps"])
        recent_losses = list(summary.get("recent_losses", []))
        loss_curve = list(summary.get("loss_curve", []))
        train_seconds = float(summary.get("train_seconds", 0.0))
    else:
        model = initial_model(config, model_set)
    model = model.to(device)
    ema = ema_copy(model)
    conv_in = [p for n, p in model.named_parameters() if ".conv_in." in f".{n}"]
    others = [p for n, p in model.named_parameters() if ".conv_in." not in f".{n}"]
    decay = [p for p in others if p.ndim >= 2]
    no_decay = [p for p in others if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay, "lr_scale": 1.0},
            {"params": no_decay, "weight_decay": 0.0, "lr_scale": 1.0},
            {"params": conv_in, "weight_decay": 0.0, "lr_scale": config.conv_in_lr_multiplier},
        ],
        lr=config.lr,
    )
    if checkpoint.is_file():
        resumed = load_checkpoint(
            checkpoint,
            models={"interp_unet": model, "ema": ema},
            optimizer=optimizer,
            config=config.to_dict(),
            resumable_keys=config.RESUMABLE,
        )
        step, warm_start_step = resumed.step, resumed.extra["warm_start_step"]
        recent_losses, train_seconds = resumed.extra["recent_losses"], resumed.extra["train_seconds"]
        loss_curve = resumed.extra.get("loss_curve", [])
        log.note(f"resumed from {checkpoint} at step {step}")
    else:
        log.note(f"config {config.to_dict()}")
        log.note(f"initialised from {config.init_from or config.keyframe_weights} at step {step}")

    def summary(final: bool) -> dict:
        return {
            "stage": STAGE,
            "weights": "ema",
            "config": config.to_dict(),
            "model_set": config.model_set,
            "steps": step,
            "examples_seen": step * config.batch_size,
            "final_loss": float(np.mean(recent_losses[-50:])) if recent_losses else None,
            "recent_losses": recent_losses,
            "loss_curve": loss_curve,
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
        }
        save_checkpoint(
            checkpoint,
            models={"interp_unet": model, "ema": ema},
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
        lr = rewarmed_learning_rate(lr, step, warm_start_step, config.warmup_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        clips = training_clips(config.data_seed, step, config.batch_size)
        pairs = step_rng(config.seed, step, PAIR_CHOICE).integers(KEYFRAME_COUNT - 1, size=len(clips))
        batch = pair_batch(encoders, clips, pairs.tolist())
        generator = step_generator(config.seed, step)
        timestep = torch.randint(0, scheduler.config.num_train_timesteps, (len(clips),), generator=generator)
        noise = torch.randn(batch.middle.shape, generator=generator)  # [B, C, 3, h, w]
        noisy = scheduler.add_noise(batch.middle, noise, timestep)

        prediction = model(
            noisy.to(device),
            batch.neighbours.to(device),
            timestep.to(device, torch.float32),
            batch.image_embeds.to(device),
        )
        loss = F.mse_loss(prediction, noise.to(device))  # eq. 6 over the 3 new frames
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        ema_update(ema, model, config.ema_decay, step - warm_start_step)

        step += 1
        step_seconds = time.perf_counter() - started
        train_seconds += step_seconds
        losses[step] = loss.item()
        recent_losses = (recent_losses + [loss.item()])[-200:]
        if step % config.log_every == 0 or step == config.steps:
            loss_curve.append([step, round(float(np.mean(recent_losses[-config.log_every :])), 6)])
            log.step(step, config.steps, loss.item(), lr, step_seconds)
        if step % config.checkpoint_every == 0 or step == config.steps:
            save()

    if step < config.steps:
        save()
        path = write_float16_weights(
            config.weights_out / f"{STAGE}.{PARTIAL}.safetensors", ema.state_dict(), summary(False)
        )
        log.note(f"stopped at step {step}: checkpoint {checkpoint}, EMA snapshot {path}")
        return summary(False) | {"losses": losses}

    metrics = evaluate_middle_frames(
        ema, encoders, model_set, evaluation_clips(config.data_seed, "val", config.eval_clips), config.seed
    )
    log.note(
        f"val middle frames ({metrics['pairs']} pairs, ddim {metrics['steps']}): sampled "
        f"{metrics['sampled_psnr_db']:.2f} dB, true latents {metrics['true_latents_psnr_db']:.2f} dB, "
        f"latent lerp {metrics['latent_lerp_psnr_db']:.2f} dB"
    )
    final = summary(True) | {"val_middle_frames": metrics}
    path = write_float16_weights(config.weights_out / f"{STAGE}.safetensors", ema.state_dict(), final)
    log.note(f"wrote {path} and {path.with_suffix('.json').name} (EMA weights)")
    return final | {"losses": losses}


def parse_config(argv: Sequence[str] | None = None) -> InterpTrainingConfig:
    return parse_dataclass_config(InterpTrainingConfig, argv, __doc__)


def main(argv: Sequence[str] | None = None) -> None:
    stop = StopRequest()
    stop.install()
    train(parse_config(argv), stop)


if __name__ == "__main__":
    main()
