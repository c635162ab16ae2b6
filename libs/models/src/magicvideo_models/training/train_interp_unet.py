"""Train the frame interpolation U-Net from the key-frame U-Net (paper §3.2).

    python -m magicvideo_models.training.train_interp_unet --out runs/interp_unet
        [--keyframe-weights assets/checkpoints/magicvideo-shapes/keyframe_unet.safetensors
         --steps N --batch-size B --pool-clips P --threads T --init-from SNAPSHOT]

"We initialize the interpolation U-Net with the key frame generation model" (InterpUNet.from_keyframe,
the key-frame U-Net's EMA weights), then train it on true middle frames: each example is one
training clip's neighbour pair, key frames 4k and 4k+4 of its 61 frames (k uniform in 0 … 14),
and the 3 frames between them, 4k+1 … 4k+3. The model sees the noisy middle latents, the two
neighbours' clean latents (concatenated inside the model) and the two neighbours' CLIP image
embeddings (cross-attention), all as the serving runtime's interpolation stage gives them:
latents scaled by the latent scaling factor, earlier key frame first, and the embeddings of the
*decoded* key frames (interp_latent_cache.py says why). It predicts the noise (with the model
set's blend skip, the noise implied by the neighbours' linear blend plus the network's correction,
interp_unet.py; from_keyframe zeroes conv_out, so training starts from the blend): eq. 6's epsilon
loss over the 3 frames, with the manifest's scheduler, each example weighted by
min(SNR_t, γ)/SNR_t (--min-snr-gamma, loss_weighting.py, as the key-frame stage; 0 with floor 0: eq. 6),
floored (--snr-floor φ, default 1: clamp(SNR_t, φ, γ)/SNR_t), so the noisiest steps, where the
sampler fixes the middle frames from the neighbours alone, are not weighed out of the loss.
No guidance at sampling, so no condition dropout. With --pixel-weight λ > 0 the loss adds λ times
the error of the decoded middle frames against the true frames, through the frozen VideoVAE decoder
(decoded_frame_loss.py: the encoder's latents are not the ones the decoder renders best, and the
frames are what users see), on the first --pixel-examples examples of each batch.

Data: a fixed pool of --pool-clips training clips, encoded once (interp_latent_cache.py: all 61
frames' latents and the decoded key frames' embeddings, on disk under --cache-root), filled
before the first step, so a step costs only the U-Net. Step s takes the pool clips of
train_keyframe_unet.pool_indices (every epoch sees every clip once) and, per clip, a seeded
neighbour pair k; with probability --reverse-fraction the 5-frame window is played backwards
(neighbours and embeddings swapped, middle frames reversed): a window of the same object moving
the other way, so the model cannot lean on a preferred direction.

Cost: filling the cache takes about 1 s of one CPU thread per clip (the VAE encoder on 61
frames, its decoder on 16, the image encoder), once; after that a step costs only the U-Net,
measured at 0.44 s per step of 16 pairs on one CPU thread while an evaluation used the other
core (2400 steps in 18 min), against 2–2.7 s when every step rendered and encoded its clips.

Optimiser, schedule, EMA (exported), checkpoints, SIGTERM snapshot (interp_unet.partial.safetensors)
and --init-from work as in train_keyframe_unet. At the end, the final check on --eval-clips val
clips: all 15 neighbour pairs of each clip sampled as the runtime samples them (DDIM, the
manifest's interp steps, one run per clip), the 61-frame latent video decoded by the VideoVAE,
PSNR of the 45 middle frames against the true frames, beside decoding the true middle latents
(the VAE's ceiling) and decoding the linear blend of the neighbours' latents (the naive
baseline); each on the whole frame and on the moving object's region (evaluation/object_region.py:
the whole frame is mostly static background, where blending is already at the VAE's ceiling);
and the sampled and blended frames once more against the decoded true latents, which takes the
VAE's error (shared by all three, and most of it) out of the comparison.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from magicvideo_models.evaluation.interpolation_quality import MiddleFrameErrors, linear_blend
from magicvideo_models.evaluation.onnx_pipeline import interleave
from magicvideo_models.interp_unet import InterpUNet
from magicvideo_models.keyframe_unet import KeyframeUNet
from magicvideo_models.model_folder import interp_scheduler
from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.sampling import INTERP_STREAMS, sample
from magicvideo_models.shapes.clips import INTERPOLATION_FACTOR, KEYFRAME_COUNT, ShapesClip
from magicvideo_models.training.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from magicvideo_models.training.decoded_frame_loss import decoded_frame_loss, true_middle_frames
from magicvideo_models.training.interp_latent_cache import (
    DEFAULT_INTERP_CACHE_ROOT,
    InterpolationClips,
    InterpolationLatentCache,
    encode_for_interpolation,
)
from magicvideo_models.training.latent_cache import SHARD_CLIPS, FrozenEncoders, load_frozen_encoders
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
    signed_pixels,
    step_generator,
    step_rng,
)
from magicvideo_models.training.stop_request import StopRequest
from magicvideo_models.training.train_keyframe_unet import (
    PARTIAL,
    diffusion_scheduler,
    ema_copy,
    ema_update,
    pool_indices,
    rewarmed_learning_rate,
    write_float16_weights,
)
from magicvideo_models.training.trained_weights import DEFAULT_WEIGHTS_FOLDER, read_weights_snapshot

STAGE = "interp_unet"
PAIR_CHOICE = 13  # salt of the step's neighbour-pair choice
SPAN = INTERPOLATION_FACTOR + 1  # a neighbour pair and its middle frames: 5 of the 61 frames
PAIRS = KEYFRAME_COUNT - 1  # neighbour pairs of a clip


@dataclass
class InterpTrainingConfig:
    out: Path = Path("runs/interp_unet")
    weights_out: Path = DEFAULT_WEIGHTS_FOLDER
    encoders_from: Path = DEFAULT_WEIGHTS_FOLDER
    keyframe_weights: Path = DEFAULT_WEIGHTS_FOLDER / "keyframe_unet.safetensors"
    cache_root: Path = DEFAULT_INTERP_CACHE_ROOT
    init_from: str = ""  # an interp weights snapshot (.safetensors beside its .json)
    model_set: str = "tiny"
    steps: int = 6000
    batch_size: int = 16
    pool_clips: int = 1024
    cache_shard_clips: int = SHARD_CLIPS
    lr: float = 2e-4
    # conv_in's neighbour channels start at zero (InterpUNet.from_keyframe) and grow by about lr per
    # step under Adam: at 1× a 550-step run left them at 5% of the noise channels' norm, so the model
    # barely read its neighbours (sampled middle frames 24.6 dB, below linear blending's 32.9 dB)
    conv_in_lr_multiplier: float = 20.0
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    ema_decay: float = 0.998
    min_snr_gamma: float = 5.0  # loss weight min(SNR_t, γ)/SNR_t (loss_weighting.py); 0 and floor 0: eq. 6
    snr_floor: float = 1.0  # clamp(SNR_t, floor, γ)/SNR_t, noisiest steps kept (loss_weighting.py); 0: off
    reverse_fraction: float = 0.5
    # weight of the decoded middle frames' error beside the latent loss (decoded_frame_loss.py); 0: off
    pixel_weight: float = 0.0
    pixel_examples: int = 4  # examples of each batch decoded for it (the decoder costs more than the U-Net)
    seed: int = 0
    data_seed: int = 0
    threads: int = 2
    log_every: int = 50
    checkpoint_every: int = 500
    eval_clips: int = 32  # val clips of the final check, all 15 pairs of each
    quiet: bool = False

    RESUMABLE: frozenset[str] = field(
        default=frozenset(
            {
                "out",
                "weights_out",
                "encoders_from",
                "keyframe_weights",
                "cache_root",
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
    neighbours: torch.Tensor  # [B, C, 2, h, w] scaled latents of the earlier and the later key frame
    middle: torch.Tensor  # [B, C, 3, h, w] scaled latents of the 3 frames between them (x0)
    image_embeds: torch.Tensor  # [B, 2, E] of the two decoded key frames, earlier first
    # [P, 3, 3, H, W] the true middle frames of the first P examples, in [-1, 1], when --pixel-weight > 0
    middle_frames: torch.Tensor | None = None


def pair_windows(
    clips: InterpolationClips,
    pairs: Sequence[int],
    reverse: Sequence[bool],
    latent_scaling_factor: float,
) -> InterpBatch:
    """Clip i's neighbour pair pairs[i] (frames 4k … 4k+4), played backwards where reverse[i]."""
    windows, embeds = [], []
    for row, (k, backwards) in enumerate(zip(pairs, reverse, strict=True)):
        first = INTERPOLATION_FACTOR * k
        window = clips.latents[row, :, first : first + SPAN]  # [C, 5, h, w]
        pair_embeds = clips.keyframe_embeds[row, k : k + 2]  # [2, E]
        if backwards:
            window, pair_embeds = window.flip(1), pair_embeds.flip(0)
        windows.append(window)
        embeds.append(pair_embeds)
    latents = torch.stack(windows) * latent_scaling_factor  # [B, C, 5, h, w]
    return InterpBatch(
        neighbours=latents[:, :, [0, SPAN - 1]],
        middle=latents[:, :, 1 : SPAN - 1],
        image_embeds=torch.stack(embeds),
    )


def training_batch(
    config: InterpTrainingConfig, cache: InterpolationLatentCache, step: int, scaling: float
) -> InterpBatch:
    """The step's pool clips, a seeded pair of each, some played backwards: a function of the step;
    with --pixel-weight, the first --pixel-examples examples' true middle frames too, rendered again
    (deterministic, about 4 ms a clip) rather than cached."""
    indices = pool_indices(config.data_seed, step, config.batch_size, config.pool_clips)
    rng = step_rng(config.seed, step, PAIR_CHOICE)
    pairs = rng.integers(PAIRS, size=config.batch_size).tolist()
    reverse = (rng.random(config.batch_size) < config.reverse_fraction).tolist()
    batch = pair_windows(cache.clips(indices), pairs, reverse, scaling)
    if config.pixel_weight <= 0:
        return batch
    rows = min(config.pixel_examples, config.batch_size)
    frames = true_middle_frames(config.data_seed, indices[:rows], pairs[:rows], reverse[:rows])
    return replace(batch, middle_frames=frames)


def clip_pairs(
    keyframe_latents: torch.Tensor, keyframe_embeds: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled key-frame latents [1, C, F, h, w] and embeddings [F, E] → every neighbour pair's latents
    [F−1, C, 2, h, w] and embeddings [F−1, 2, E], as the runtime's interpolation stage pairs them."""
    pairs = keyframe_latents.shape[2] - 1
    neighbours = torch.stack([keyframe_latents[0, :, p : p + 2] for p in range(pairs)])
    embeds = torch.stack([keyframe_embeds[p : p + 2] for p in range(pairs)])
    return neighbours, embeds


@torch.no_grad()
def evaluate_middle_frames(
    model: InterpUNet,
    encoders: FrozenEncoders,
    model_set: ModelSetConfig,
    clips: Sequence[ShapesClip],
    seed: int,
) -> dict[str, float]:
    """PSNR of the middle frames: sampled, the VAE's own reconstruction (true latents) and latent
    lerp, on the whole frame and on the object region (evaluation/object_region.py)."""
    encoded = encode_for_interpolation(encoders, clips)
    scale = encoders.latent_scaling_factor
    steps = model_set.defaults.interp_num_inference_steps
    names = ("sampled", "true_latents", "latent_lerp")
    errors = MiddleFrameErrors(names, decoded_truth="true_latents")
    for index, clip in enumerate(clips):
        true_latents = encoded.latents[index : index + 1] * scale  # [1, C, 61, h, w]
        keyframes = true_latents[:, :, ::INTERPOLATION_FACTOR]
        neighbours, embeds = clip_pairs(keyframes, encoded.keyframe_embeds[index])
        _, channels, _, height, width = keyframes.shape
        middle = sample(
            model,
            {"image_embeds": embeds.to(encoders.device)},
            sampler="ddim",
            steps=steps,
            guidance_scale=1.0,
            seed=seed + index,
            shape=(neighbours.shape[0], channels, SPAN - 2, height, width),
            scheduler_config=asdict(interp_scheduler(model_set)),  # as the exported folder samples
            shared={"neighbours": neighbours.to(encoders.device)},
            streams=INTERP_STREAMS,
        ).cpu()
        videos = {
            "sampled": interleave(keyframes, middle),
            "true_latents": true_latents,
            "latent_lerp": linear_blend(keyframes),
        }
        truth = signed_pixels(clip.frames).movedim(0, 1).numpy()  # [3, 61, H, W]
        decoded = {
            name: encoders.vae.decode((latents / scale).to(encoders.device))[0].float().cpu().numpy()
            for name, latents in videos.items()
        }
        errors.add_clip(clip, truth, decoded)
    metrics = errors.metrics()
    return metrics | {
        "object_region_fraction": errors.region_fraction,
        "sampler": "ddim",
        "steps": steps,
        "clips": len(clips),
        "pairs": len(clips) * PAIRS,
    }


def initial_model(config: InterpTrainingConfig, model_set: ModelSetConfig) -> InterpUNet:
    """InterpUNet.from_keyframe of the trained key-frame U-Net (§3.2); with the model set's blend
    skip its conv_out starts at zero, so the untrained model samples the key frames' linear blend."""
    keyframe = KeyframeUNet(model_set.keyframe_unet)
    keyframe.load_state_dict(read_weights_snapshot(Path(config.keyframe_weights))[0], strict=True)
    return InterpUNet.from_keyframe(
        keyframe, model_set.image_encoder.projection_dim, blend_skip=model_set.interp_unet.blend_skip
    )


def train(config: InterpTrainingConfig, stop: StopRequest | None = None) -> dict:
    """Run (or resume) the stage; returns the summary written beside the weights (the snapshot's
    when stopped early), plus "losses" {step: loss} of the steps this call ran."""
    if config.pixel_weight < 0 or config.pixel_examples < 1:
        raise ValueError(
            f"--pixel-weight must be ≥ 0 and --pixel-examples ≥ 1, got {config.pixel_weight}, "
            f"{config.pixel_examples}"
        )
    torch.set_num_threads(config.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    stop = stop or StopRequest()
    log = RunLog(config.out, quiet=config.quiet)
    model_set = ModelSetConfig.by_name(config.model_set)
    encoders = load_frozen_encoders(config.encoders_from, model_set, device)
    scheduler = diffusion_scheduler(model_set)
    cache = InterpolationLatentCache(
        config.cache_root,
        encoders,
        config.model_set,
        config.data_seed,
        config.pool_clips,
        config.cache_shard_clips,
    )

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
    if not torch.equal(model.alphas_cumprod, scheduler.alphas_cumprod):
        raise ValueError(
            "the interpolation U-Net's ᾱ table (its blend skip's) is not the model set's scheduler's"
        )
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
            "blend_skip": model_set.interp_unet.blend_skip,  # what the network's output means
            "config": config.to_dict(),
            "model_set": config.model_set,
            "steps": step,
            "examples_seen": step * config.batch_size,
            "final_loss": float(np.mean(recent_losses[-50:])) if recent_losses else None,
            "recent_losses": recent_losses,
            "loss_curve": loss_curve,
            "latent_scaling_factor": encoders.latent_scaling_factor,
            "encoders_digest": encoders.digest,
            "cache_digest": cache.digest,
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

    filling = time.perf_counter()
    cache.fill(log.note if step < config.steps else None)
    if cache.encoded_clips:
        seconds = time.perf_counter() - filling
        log.note(f"encoded {cache.encoded_clips} clips into {cache.folder} in {seconds:.0f} s")

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
        batch = training_batch(config, cache, step, encoders.latent_scaling_factor)
        generator = step_generator(config.seed, step)
        timestep = torch.randint(
            0, scheduler.config.num_train_timesteps, (config.batch_size,), generator=generator
        )
        noise = torch.randn(batch.middle.shape, generator=generator)  # [B, C, 3, h, w]
        noisy = scheduler.add_noise(batch.middle, noise, timestep)

        prediction = model(
            noisy.to(device),
            batch.neighbours.to(device),
            timestep.to(device, torch.float32),
            batch.image_embeds.to(device),
        )
        weights = min_snr_weights(scheduler.alphas_cumprod, timestep, config.min_snr_gamma, config.snr_floor)
        loss = weighted_mse(prediction, noise.to(device), weights)  # eq. 6 over the 3 frames, min-SNR
        extra = {}
        if batch.middle_frames is not None:  # and the frames they decode to (decoded_frame_loss.py)
            rows = batch.middle_frames.shape[0]
            clean = clean_from_epsilon(
                scheduler.alphas_cumprod, noisy[:rows].to(device), prediction[:rows], timestep[:rows]
            )
            frame_weights = clean_sample_weights(
                scheduler.alphas_cumprod, timestep[:rows], config.min_snr_gamma, config.snr_floor
            )
            window = torch.cat([batch.neighbours[:rows, :, :1].to(device), clean], dim=2)  # k0 as context
            frame_loss = decoded_frame_loss(
                encoders.vae,
                window,
                batch.middle_frames,
                frame_weights,
                encoders.latent_scaling_factor,
                context_frames=1,
            )
            loss = loss + config.pixel_weight * frame_loss
            extra["frames"] = frame_loss.item()
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
            log.step(step, config.steps, loss.item(), lr, step_seconds, **extra)
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
        f"val middle frames ({metrics['clips']} clips, {metrics['pairs']} pairs, ddim {metrics['steps']}): "
        f"whole frame: sampled {metrics['sampled_psnr_db']:.2f} dB, "
        f"true latents {metrics['true_latents_psnr_db']:.2f} dB, "
        f"latent lerp {metrics['latent_lerp_psnr_db']:.2f} dB; object region "
        f"({100 * metrics['object_region_fraction']:.1f}% of the pixels): "
        f"sampled {metrics['object_region_sampled_psnr_db']:.2f} dB, "
        f"true latents {metrics['object_region_true_latents_psnr_db']:.2f} dB, "
        f"latent lerp {metrics['object_region_latent_lerp_psnr_db']:.2f} dB; against the decoded true "
        f"latents: sampled {metrics['sampled_vs_decoded_truth_psnr_db']:.2f} dB, "
        f"latent lerp {metrics['latent_lerp_vs_decoded_truth_psnr_db']:.2f} dB (object region "
        f"{metrics['object_region_sampled_vs_decoded_truth_psnr_db']:.2f} vs "
        f"{metrics['object_region_latent_lerp_vs_decoded_truth_psnr_db']:.2f} dB); flicker of the 61 "
        f"frames: sampled {metrics['sampled_flicker_levels']:.3f}, "
        f"true latents {metrics['true_latents_flicker_levels']:.3f}, "
        f"latent lerp {metrics['latent_lerp_flicker_levels']:.3f} levels"
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
