"""Train the VAE (8×: 64×64×3 ↔ 8×8×4), then the VideoVAE decoder's temporal layers, then
(optionally) fine-tune the whole decoder with the encoder frozen.

    python -m magicvideo_models.training.train_vae --out runs/vae [--autoencoder-steps N
        --temporal-steps M --decoder-steps K --lr LR --temporal-lr LR --decoder-lr LR
        --edge-weight W --seed S --threads T --init-from SNAPSHOT]

DESIGN.md §7 and paper §3.3, up to three phases in one resumable run (the step counter runs
through all):

1. Autoencoder (steps 0 … N−1): the per-frame AutoencoderKL (VideoVAE with its zero-initialised
   temporal layers frozen, so it decodes frame by frame) on single frames of training clips:
   L1 + L2 reconstruction of a posterior sample plus a small KL term (LDM's weight 1e-6 on the
   per-frame KL sum, here divided by the pixel count because the reconstruction terms are pixel
   means), and optionally an L1 loss on spatial gradients (edges).
2. Temporal layers (steps N … N+M−1): only `decoder.temporal_attentions` train; the encoder and
   every other decoder weight are frozen. Sequences of 16 frames (16 consecutive frames of the
   61, or the 16 key frames) are encoded, and their latents perturbed with independent Gaussian
   noise per frame (a random level up to --latent-noise × the latents' std): the paper sees
   dithering when decoding *generated* latents, whose errors are independent from frame to
   frame; the exact latents of real frames decode without flicker even frame by frame. The
   loss is L1 + L2 to the true frames.
3. Decoder (steps N+M … N+M+K−1, --decoder-steps, 0 by default): every decoder weight (spatial,
   temporal and post_quant_conv) trains on the same perturbed 16-frame sequences, the encoder and
   quant_conv frozen, with the L1 + L2 (+ --edge-weight edge) loss. The latent space is the
   encoder's, so it does not move: the diffusion models trained on it and their latent caches
   stay valid (as Stable Diffusion's decoder-only VAE fine-tunes kept their latent space). Phase 1
   trains the decoder on single posterior samples for a small KL budget; this phase spends more
   steps where the shapes' corners and edges are decided.

--init-from SNAPSHOT (a vae.safetensors whose .json says it finished N + M steps with these
flags' --autoencoder-steps N and --temporal-steps M) starts a run at step N+M from those
weights: a decoder fine-tune of a trained VAE without repeating phases 1 and 2.

SIGTERM or SIGINT ends the current step, writes OUT/checkpoint.pt and exits; the same command
resumes (stop_request.py).

At the end, on held-out (val) clips' 61 frames: PSNR and flicker (mean absolute frame-to-frame
change of decoded minus true, in 8-bit levels) of the per-frame decoder vs the VideoVAE, from
exact and from noise-perturbed latents; the latent scaling factor 1 / std of the latents of
training clips' key frames; the weights as float16 safetensors in --weights-out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from magicvideo_models.model_set import ModelSetConfig, model_seed
from magicvideo_models.shapes.clips import FRAME_COUNT, INTERPOLATION_FACTOR, KEYFRAME_COUNT, ShapesClip
from magicvideo_models.shapes.judge import judge_clip
from magicvideo_models.training.checkpoint import CHECKPOINT_FILE, load_optimizer_state, save_checkpoint
from magicvideo_models.training.lr_schedule import cosine_learning_rate
from magicvideo_models.training.run_config import (
    config_dict,
    parse_dataclass_config,
    resume_or_start,
    set_learning_rate,
)
from magicvideo_models.training.run_log import RunLog
from magicvideo_models.training.shapes_dataset import (
    FRAME_CHOICE,
    evaluation_clips,
    psnr,
    signed_pixels,
    signed_to_uint8,
    step_generator,
    step_rng,
    training_clips,
)
from magicvideo_models.training.stop_request import StopRequest, stopped_run
from magicvideo_models.training.trained_weights import (
    DEFAULT_WEIGHTS_FOLDER,
    read_weights_snapshot,
    save_stage_weights,
)
from magicvideo_models.video_vae import DECODER_PREFIXES, VideoVAE

STAGE = "vae"
TEMPORAL_PREFIX = "decoder.temporal_attentions."
EIGHT_BIT_LEVELS = 127.5  # one unit of [-1, 1] pixels in 8-bit levels


@dataclass
class VaeTrainingConfig:
    out: Path = Path("runs/vae")
    weights_out: Path = DEFAULT_WEIGHTS_FOLDER
    model_set: str = "tiny"
    autoencoder_steps: int = 3000
    temporal_steps: int = 500
    clips_per_step: int = 8  # phase 1: frames from this many clips
    frames_per_clip: int = 4  # phase 1: batch = clips_per_step × frames_per_clip frames
    lr: float = 1e-3
    kl_weight: float = 1e-6
    edge_weight: float = 0.0
    sequences_per_step: int = 2  # phase 2: 16-frame sequences per step
    sequence_frames: int = KEYFRAME_COUNT
    temporal_lr: float = 5e-4
    decoder_steps: int = 0  # phase 3: the whole decoder, encoder frozen
    decoder_lr: float = 2e-4
    init_from: str = ""  # a vae snapshot that finished phases 1 and 2: start phase 3 from it
    latent_noise: float = 0.2  # phase 2: largest per-frame latent perturbation, × the latents' std
    warmup_steps: int = 100
    seed: int = 0
    data_seed: int = 0
    threads: int = 2
    log_every: int = 10
    checkpoint_every: int = 100
    eval_clips: int = 16
    eval_latent_noise: float = 0.1
    scaling_clips: int = 64
    quiet: bool = False

    RESUMABLE: frozenset[str] = field(
        default=frozenset(
            {
                "out",
                "weights_out",
                "autoencoder_steps",  # a resumed run may end phase 1 sooner or later
                "temporal_steps",
                "decoder_steps",
                "init_from",
                "threads",
                "log_every",
                "checkpoint_every",
                "eval_clips",
                "eval_latent_noise",
                "scaling_clips",
                "quiet",
            }
        ),
        repr=False,
    )

    @property
    def decoder_start(self) -> int:
        return self.autoencoder_steps + self.temporal_steps

    @property
    def steps(self) -> int:
        return self.decoder_start + self.decoder_steps

    def to_dict(self) -> dict:
        return config_dict(self)


def reconstruction_loss(decoded: torch.Tensor, target: torch.Tensor, edge_weight: float) -> torch.Tensor:
    """L1 + L2 (+ edge_weight × L1 of the horizontal and vertical pixel differences)."""
    loss = F.l1_loss(decoded, target) + F.mse_loss(decoded, target)
    if edge_weight > 0:
        dx = lambda x: x[..., :, 1:] - x[..., :, :-1]  # noqa: E731
        dy = lambda x: x[..., 1:, :] - x[..., :-1, :]  # noqa: E731
        loss = loss + edge_weight * (F.l1_loss(dx(decoded), dx(target)) + F.l1_loss(dy(decoded), dy(target)))
    return loss


def frame_batch(clips: Sequence[ShapesClip], rng: np.random.Generator, frames_per_clip: int) -> torch.Tensor:
    """Random frames of each clip: [B·k, 3, H, W] in [-1, 1]."""
    chosen = [clip.frames[rng.choice(FRAME_COUNT, size=frames_per_clip, replace=False)] for clip in clips]
    return signed_pixels(np.concatenate(chosen))


def sequence_batch(clips: Sequence[ShapesClip], rng: np.random.Generator, length: int) -> torch.Tensor:
    """One sequence per clip, [B, 3, length, H, W]: `length` consecutive frames of the 61 or,
    half of the time, the key frames (what the decoder sees after and before interpolation)."""
    sequences = []
    for clip in clips:
        if rng.random() < 0.5 and length <= KEYFRAME_COUNT:
            frames = clip.frames[::INTERPOLATION_FACTOR][:length]
        else:
            start = int(rng.integers(FRAME_COUNT - length + 1))
            frames = clip.frames[start : start + length]
        sequences.append(signed_pixels(frames).movedim(0, 1))  # [3, F, H, W]
    return torch.stack(sequences)


def encode_video(vae: VideoVAE, video: torch.Tensor) -> torch.Tensor:
    """video [B, 3, F, H, W] → posterior-mode latents [B, C, F, h, w] (unscaled)."""
    batch, _, num_frames = video.shape[:3]
    folded = video.movedim(2, 1).flatten(0, 1)
    latents = vae.encode(folded).mode()
    return latents.unflatten(0, (batch, num_frames)).movedim(1, 2)


def perturbed(latents: torch.Tensor, max_level: float, generator: torch.Generator) -> torch.Tensor:
    """Latents [B, C, F, h, w] plus independent Gaussian noise per frame, its std a random
    fraction (≤ max_level) of the latents' std, drawn per sequence."""
    levels = torch.rand(latents.shape[0], 1, 1, 1, 1, generator=generator) * max_level
    noise = torch.randn(latents.shape, generator=generator)
    return latents + levels.to(latents.device) * latents.std() * noise.to(latents.device)


def flicker(decoded: torch.Tensor, target: torch.Tensor) -> float:
    """Mean |Δ_t decoded − Δ_t true| in 8-bit levels, Δ_t the change between consecutive frames;
    video [B, 3, F, H, W]. 0 when the decode changes from frame to frame exactly as the truth."""
    decoded = decoded.clamp(-1, 1)
    change = decoded.diff(dim=2) - target.diff(dim=2)
    return float(change.abs().mean().item() * EIGHT_BIT_LEVELS)


@torch.no_grad()
def evaluate_decoders(
    vae: VideoVAE, clips: Sequence[ShapesClip], latent_noise: float, seed: int, device: str
) -> dict:
    """PSNR and flicker of the per-frame decoder and the VideoVAE on the clips' 61 frames,
    from exact latents and from latents with noise of std latent_noise × their std."""
    results: dict[str, dict[str, float]] = {}
    video = torch.stack([signed_pixels(clip.frames).movedim(0, 1) for clip in clips])  # [B, 3, 61, H, W]
    decoded: dict[tuple[str, str], list[torch.Tensor]] = {}
    for start in range(0, len(clips), 4):
        part = video[start : start + 4].to(device)
        exact = encode_video(vae, part)
        generator = torch.Generator().manual_seed(seed + start)
        noisy = exact + latent_noise * exact.std() * torch.randn(exact.shape, generator=generator).to(device)
        for latents_name, latents in (("exact", exact), ("noisy", noisy)):
            for decoder_name, temporal in (("per_frame", False), ("video_vae", True)):
                vae.decoder.use_temporal_layers = temporal
                decoded.setdefault((latents_name, decoder_name), []).append(vae.decode(latents).cpu())
    vae.decoder.use_temporal_layers = True
    for (latents_name, decoder_name), parts in decoded.items():
        frames = torch.cat(parts)
        results[f"{latents_name}_latents/{decoder_name}"] = {
            "psnr_db": psnr(frames, video),
            "flicker_8bit": flicker(frames, video),
        }
    results["true_frame_change_8bit"] = {"mean": float(video.diff(dim=2).abs().mean() * EIGHT_BIT_LEVELS)}
    return results


@torch.no_grad()
def judged_reconstructions(vae: VideoVAE, clips: Sequence[ShapesClip], device: str) -> dict[str, float]:
    """How often the judge reads the right shape and all three attributes in the VideoVAE's
    decoding of the clips' key-frame latents: the ceiling of what a diffusion model trained on
    these latents can show through this decoder."""
    shape_right, all_right = [], []
    for clip in clips:
        video = signed_pixels(clip.keyframes).movedim(0, 1)[None].to(device)  # [1, 3, 16, H, W]
        decoded = vae.decode(encode_video(vae, video))[0].movedim(0, 1)  # [16, 3, H, W]
        verdict = judge_clip(signed_to_uint8(decoded))
        shape_right.append(verdict.shape == clip.attributes.shape)
        all_right.append(verdict.attributes() == clip.attributes)
    return {"shape": float(np.mean(shape_right)), "all_three": float(np.mean(all_right))}


@torch.no_grad()
def frame_psnr(vae: VideoVAE, clips: Sequence[ShapesClip], device: str) -> float:
    """Per-frame (temporal layers off) reconstruction PSNR over the clips' key frames."""
    frames = signed_pixels(np.concatenate([clip.keyframes for clip in clips]))
    vae.decoder.use_temporal_layers = False
    decoded = [vae(chunk.unsqueeze(2).to(device)).squeeze(2).cpu() for chunk in frames.split(64)]
    vae.decoder.use_temporal_layers = True
    return psnr(torch.cat(decoded), frames)


@torch.no_grad()
def latent_scaling_factor(vae: VideoVAE, clips: Sequence[ShapesClip], device: str) -> float:
    """1 / std of the posterior-mode latents of the clips' key frames (as SD's 0.18215 was measured)."""
    frames = signed_pixels(np.concatenate([clip.keyframes for clip in clips]))
    latents = torch.cat([vae.encode(chunk.to(device)).mode().cpu() for chunk in frames.split(64)])
    return float(1.0 / latents.std().item())


def earlier_run_summary(path: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The parts of an --init-from snapshot's summary that say how its phases 1 and 2 were made."""
    keys = ("config", "steps", "train_seconds", "autoencoder_metrics", "decoders_on_val_clips", "earlier_run")
    return {"weights": path} | {key: snapshot[key] for key in keys if key in snapshot}


def trains_in_phase(name: str, phase: str) -> bool:
    """Whether parameter `name` trains in `phase`: "autoencoder" everything but the temporal
    layers, "temporal" only those, "decoder" everything that decodes (the encoder stays frozen)."""
    if phase == "decoder":
        return name.startswith(DECODER_PREFIXES)
    return name.startswith(TEMPORAL_PREFIX) == (phase == "temporal")


def make_optimizer(vae: VideoVAE, phase: str, config: VaeTrainingConfig) -> torch.optim.Optimizer:
    """AdamW over the parameters that train in `phase`, at that phase's learning rate."""
    for name, parameter in vae.named_parameters():
        parameter.requires_grad_(trains_in_phase(name, phase))
    parameters = [p for p in vae.parameters() if p.requires_grad]
    lr = {"autoencoder": config.lr, "temporal": config.temporal_lr, "decoder": config.decoder_lr}[phase]
    return torch.optim.AdamW(parameters, lr=lr, betas=(0.9, 0.99), weight_decay=0.0)


def start_from_snapshot(vae: VideoVAE, config: VaeTrainingConfig) -> dict[str, Any]:
    """Load --init-from's weights; its summary, which must have finished this config's phases 1
    and 2 (so the step counter and the phase boundaries mean the same)."""
    state, summary = read_weights_snapshot(Path(config.init_from))
    finished = (summary.get("autoencoder_steps"), summary.get("temporal_steps"))
    phases = (config.autoencoder_steps, config.temporal_steps)
    if finished != phases or summary.get("steps") != config.decoder_start:
        raise ValueError(
            f"--init-from {config.init_from} finished {summary.get('steps')} steps "
            f"(autoencoder {finished[0]}, temporal {finished[1]}); pass --autoencoder-steps {finished[0]} "
            f"--temporal-steps {finished[1]} to start its decoder phase"
        )
    vae.load_state_dict(state, strict=True)
    return summary


def train(config: VaeTrainingConfig, stop: StopRequest | None = None) -> dict:
    """Run (or resume) both phases; returns the summary written beside the weights, plus
    "losses" {step: loss} of the steps this call ran."""
    torch.set_num_threads(config.threads)
    stop = stop or StopRequest()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    log = RunLog(config.out, quiet=config.quiet)
    model_set = ModelSetConfig.by_name(config.model_set)
    torch.manual_seed(model_seed(config.seed, "vae"))  # as model_set.build_models
    vae = VideoVAE(model_set.vae).to(device)

    checkpoint = config.out / CHECKPOINT_FILE
    resumed = resume_or_start(
        checkpoint,
        models={"vae": vae},
        optimizer=None,
        config=config,
        log=log,
        fresh_extra={"phase": "autoencoder", "phase1_metrics": {}, "earlier_run": {}},
    )
    step, recent_losses = resumed.step, resumed.extra["recent_losses"]
    train_seconds, phase1_metrics = resumed.extra["train_seconds"], resumed.extra["phase1_metrics"]
    # what the --init-from snapshot's run was (its config, steps, time, metrics): provenance
    earlier_run = dict(resumed.extra.get("earlier_run", {}))
    if config.init_from and not checkpoint.is_file():
        snapshot = start_from_snapshot(vae, config)
        step, phase1_metrics = config.decoder_start, dict(snapshot.get("autoencoder_metrics", {}))
        earlier_run = earlier_run_summary(config.init_from, snapshot)
        resumed.extra["phase"] = "temporal"  # switched to "decoder" by the loop below
        log.note(f"initialised from {config.init_from} at step {step}")
    # the phase the checkpoint was in: a resumed run whose phase 1 was shortened switches below
    phase = resumed.extra["phase"]
    optimizer = make_optimizer(vae, phase, config)
    if checkpoint.is_file():
        load_optimizer_state(checkpoint, optimizer)

    def save() -> None:
        extra = {
            "recent_losses": recent_losses,
            "train_seconds": train_seconds,
            "phase": phase,
            "phase1_metrics": phase1_metrics,
            "earlier_run": earlier_run,
        }
        save_checkpoint(
            checkpoint,
            models={"vae": vae},
            optimizer=optimizer,
            step=step,
            config=config.to_dict(),
            extra=extra,
        )

    losses: dict[int, float] = {}
    val_clips = evaluation_clips(config.data_seed, "val", config.eval_clips)
    vae.train()
    while step < config.steps and not stop.requested:
        if phase == "autoencoder" and step >= config.autoencoder_steps:
            vae.eval()
            phase1_metrics = {"val_keyframe_psnr_db": frame_psnr(vae, val_clips, device)}
            log.note(f"autoencoder done: val key-frame PSNR {phase1_metrics['val_keyframe_psnr_db']:.2f} dB")
            vae.train()
            phase, recent_losses = "temporal", []
            optimizer = make_optimizer(vae, phase, config)
        if phase == "temporal" and step >= config.decoder_start:
            phase, recent_losses = "decoder", []
            optimizer = make_optimizer(vae, phase, config)
        started = time.perf_counter()
        generator = step_generator(config.seed, step)
        rng = step_rng(config.seed, step, FRAME_CHOICE)
        if phase == "autoencoder":
            lr = cosine_learning_rate(
                step, max_lr=config.lr, warmup_steps=config.warmup_steps, total_steps=config.autoencoder_steps
            )
            frames = frame_batch(
                training_clips(config.data_seed, step, config.clips_per_step), rng, config.frames_per_clip
            )
            frames = frames.to(device)
            posterior = vae.encode(frames)
            sample = posterior.mean + posterior.std * torch.randn(
                posterior.mean.shape, generator=generator
            ).to(device)
            decoded = vae.decode(sample.unsqueeze(2)).squeeze(2)  # one-frame videos: per-frame decoding
            pixels_per_frame = frames[0].numel()
            kl = posterior.kl().mean() / pixels_per_frame
            loss = reconstruction_loss(decoded, frames, config.edge_weight) + config.kl_weight * kl
        else:
            temporal = phase == "temporal"
            start, length = (
                (config.autoencoder_steps, config.temporal_steps)
                if temporal
                else (config.decoder_start, config.decoder_steps)
            )
            lr = cosine_learning_rate(
                step - start,
                max_lr=config.temporal_lr if temporal else config.decoder_lr,
                warmup_steps=min(config.warmup_steps, length // 10 + 1),
                total_steps=length,
            )
            clips = training_clips(config.data_seed, step, config.sequences_per_step)
            video = sequence_batch(clips, rng, config.sequence_frames).to(device)
            with torch.no_grad():
                latents = perturbed(encode_video(vae, video), config.latent_noise, generator)
            edge_weight = 0.0 if temporal else config.edge_weight
            loss = reconstruction_loss(vae.decode(latents), video, edge_weight)
        set_learning_rate(optimizer, lr)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in vae.parameters() if p.requires_grad], 1.0)
        optimizer.step()

        step += 1
        step_seconds = time.perf_counter() - started
        train_seconds += step_seconds
        losses[step] = loss.item()
        recent_losses = (recent_losses + [loss.item()])[-50:]
        if step % config.log_every == 0 or step == config.steps:
            log.step(step, config.steps, loss.item(), lr, step_seconds, **{f"phase_{phase}": 1})
        if step % config.checkpoint_every == 0 or step == config.steps:
            save()

    if step < config.steps:  # stopped by SIGTERM/SIGINT
        return stopped_run(STAGE, step, checkpoint, save, log, losses)

    vae.eval()
    if not phase1_metrics:  # a run with no temporal steps
        phase1_metrics = {"val_keyframe_psnr_db": frame_psnr(vae, val_clips, device)}
    decoders = evaluate_decoders(vae, val_clips, config.eval_latent_noise, config.seed, device)
    judged = judged_reconstructions(vae, val_clips, device)
    log.note(f"judge on the VideoVAE's reconstructions of val key frames: {judged}")
    for name, values in decoders.items():
        log.note(f"val {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in values.items()))
    if config.init_from:
        # the encoder is the snapshot's, frozen: keep the factor the diffusion models trained with
        # (re-measuring it from the float16 weights moves it in the fifth digit)
        scaling = float(read_weights_snapshot(Path(config.init_from))[1]["latent_scaling_factor"])
        measured_on = f"kept from {config.init_from} (encoder frozen)"
    else:
        clips = training_clips(config.data_seed, 0, config.scaling_clips)
        scaling = latent_scaling_factor(vae, clips, device)
        measured_on = f"posterior-mode latents of {config.scaling_clips} training clips' 16 key frames"
    log.note(f"latent_scaling_factor {scaling:.5f}: {measured_on}")
    summary = {
        "stage": STAGE,
        "config": config.to_dict(),
        "steps": step,
        "autoencoder_steps": config.autoencoder_steps,
        "temporal_steps": config.temporal_steps,
        "decoder_steps": config.decoder_steps,
        "final_loss": float(np.mean(recent_losses[-20:])) if recent_losses else None,
        "autoencoder_metrics": phase1_metrics,
        "decoders_on_val_clips": decoders,
        "judge_on_val_reconstructions": judged,
        "eval_clips": config.eval_clips,
        "latent_scaling_factor": scaling,
        "latent_scaling_factor_measured_on": measured_on,
        "train_seconds": round(train_seconds, 1),
        "earlier_run": earlier_run,  # {} unless --init-from
        "device": device,
    }
    path = save_stage_weights(config.weights_out, STAGE, vae.state_dict(), summary)
    log.note(f"wrote {path} and {path.with_suffix('.json').name}")
    return summary | {"losses": losses}


def parse_config(argv: Sequence[str] | None = None) -> VaeTrainingConfig:
    return parse_dataclass_config(VaeTrainingConfig, argv, __doc__)


def main(argv: Sequence[str] | None = None) -> None:
    stop = StopRequest()
    stop.install()
    train(parse_config(argv), stop)


if __name__ == "__main__":
    main()
