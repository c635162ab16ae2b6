"""Train the CLIP-style text and image encoders contrastively on (key frames, caption) pairs.

    python -m magicvideo_models.training.train_clip --out runs/clip [--steps N --batch-size B
        --lr LR --seed S --threads T]

DESIGN.md §7: "CLIP-style encoders trained contrastively on frames and captions". As CLIP
(Radford et al. 2021): the text tower's EOS state through a linear projection, the image tower's
projected embedding, both L2-normalised; symmetric InfoNCE over the batch with a learnable
temperature (logit scale initialised to 1/0.07, clamped at 100).

Three terms, summed. Frames: each of two key frames of a clip, one early (of the first 4) and one
late (of the last 4), against the caption, as CLIP does with images. Attributes: one frame shows
no direction, so by the frame term alone the text tower learns to ignore "left" and "right" (a
first run's text states for "moving left" and "moving right" differed by 3%, and the key-frame
U-Net conditioned on them never learned motion). So a linear head reads the mean of the text
tower's last hidden states (what the U-Nets cross-attend to) and classifies the caption's colour,
shape and motion (cross-entropy, --attribute-loss-weight): the labels are the grammar's, so every
paraphrase of a direction has to land in one place. Clip (--motion-loss-weight, off by default):
motion_head([e(early), e(late), e(late − early)]) embeds the clip as a whole, with each clip also
played backwards under a caption of the opposite motion, and contrasts it with the caption; on its
own it had learned no direction after 300 steps (zero-shot motion at chance, text states for left
and right at cosine 0.999), so it stays an option. The heads are training devices; only the towers
and text_projection are used later.

The zero-shot evaluation at the end reports colour and shape from one frame, and colour, shape,
motion and all three from the clip embedding of the first and last key frames.

Resumes from OUT/checkpoint.pt when present; SIGTERM or SIGINT ends the current step, writes that
checkpoint and exits (stop_request.py). At the end: zero-shot accuracy on val and heldout
clips, then the encoders (and the projection heads) as float16 safetensors in --weights-out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from magicvideo_models.image_encoder import ImageEncoder, ImageEncoderConfig, pixel_values_from_frames
from magicvideo_models.model_set import ModelSetConfig, model_seed
from magicvideo_models.shapes.clips import KEYFRAME_COUNT
from magicvideo_models.shapes.grammar import (
    COLOURS,
    MOTIONS,
    SHAPES,
    ShapeAttributes,
    all_combinations,
    caption_for,
    time_reversed,
)
from magicvideo_models.shapes.heldout import is_heldout
from magicvideo_models.text_encoder import TextEncoder, TextEncoderConfig
from magicvideo_models.tokenizer import build_tokenizer
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
    FRAME_CHOICE,
    evaluation_clips,
    signed_pixels,
    step_rng,
    training_clips,
)
from magicvideo_models.training.stop_request import StopRequest, stopped_run
from magicvideo_models.training.trained_weights import DEFAULT_WEIGHTS_FOLDER, prefixed, save_stage_weights

STAGE = "clip"
INITIAL_TEMPERATURE = 0.07
MAX_LOGIT_SCALE = 100.0


@dataclass
class ClipTrainingConfig:
    out: Path = Path("runs/clip")
    weights_out: Path = DEFAULT_WEIGHTS_FOLDER
    model_set: str = "tiny"
    steps: int = 2000
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.1
    warmup_steps: int = 100
    seed: int = 0  # weight initialisation (as build_models draws it)
    data_seed: int = 0  # the MagicVideo Shapes clips
    threads: int = 2
    log_every: int = 10
    checkpoint_every: int = 100
    eval_clips: int = 256  # per evaluation split
    attribute_loss_weight: float = 1.0  # colour/shape/motion classification from the text states
    motion_loss_weight: float = 0.0  # the clip (early, late, difference) term
    quiet: bool = False

    # settings a resumed run may change
    RESUMABLE: frozenset[str] = field(
        default=frozenset(
            {"out", "weights_out", "steps", "threads", "log_every", "checkpoint_every", "eval_clips", "quiet"}
        ),
        repr=False,
    )

    def to_dict(self) -> dict:
        return config_dict(self)


class ContrastiveEncoders(nn.Module):
    """The two towers and CLIP's heads: text_projection (EOS state → E), the logit scale, and
    motion_head ([early, late] frame embeddings → one clip embedding)."""

    def __init__(self, text_config: TextEncoderConfig, image_config: ImageEncoderConfig, seed: int) -> None:
        super().__init__()
        # seeded as model_set.build_models seeds them, so step 0 is the untrained folder's weights
        torch.manual_seed(model_seed(seed, "text_encoder"))
        self.text_encoder = TextEncoder(text_config)
        torch.manual_seed(model_seed(seed, "image_encoder"))
        self.image_encoder = ImageEncoder(image_config)
        torch.manual_seed(model_seed(seed, "clip_heads"))
        self.text_projection = nn.Linear(text_config.hidden_size, image_config.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / INITIAL_TEMPERATURE)))
        embed = image_config.projection_dim
        self.motion_head = nn.Linear(3 * embed, embed, bias=False)
        with torch.no_grad():  # start as the mean of the two frames, so the term starts as the frame term
            eye = torch.eye(embed)
            self.motion_head.weight.copy_(torch.cat([eye / 2, eye / 2, torch.zeros(embed, embed)], dim=1))
        self.attribute_head = nn.Linear(text_config.hidden_size, sum(ATTRIBUTE_CLASSES.values()))

    def text_embeds(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids [B, 77] → unit text embeddings [B, E]."""
        return self.text_embeds_and_attribute_logits(input_ids)[0]

    def text_embeds_and_attribute_logits(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """input_ids [B, 77] → unit text embeddings [B, E] and attribute logits [B, 5 + 3 + 4]."""
        states = self.text_encoder.clip(input_ids=input_ids)
        embeds = F.normalize(self.text_projection(states.pooler_output), dim=-1)
        return embeds, self.attribute_head(states.last_hidden_state.mean(dim=1))

    def image_embeds(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """CLIP pixel values [B, 3, S, S] → unit image embeddings [B, E]."""
        return F.normalize(self.image_encoder(pixel_values), dim=-1)

    def clip_embeds(self, early: torch.Tensor, late: torch.Tensor) -> torch.Tensor:
        """Pixel values of an early and a late key frame [B, 3, S, S] each → unit clip embeddings [B, E]."""
        frames = self.image_encoder(torch.cat([early, late, late - early]))
        return F.normalize(self.motion_head(torch.cat(frames.chunk(3), dim=-1)), dim=-1)

    def contrastive_loss(
        self,
        early: torch.Tensor,
        late: torch.Tensor,
        input_ids: torch.Tensor,
        attribute_labels: torch.Tensor,
        *,
        attribute_weight: float = 1.0,
        motion_weight: float = 0.0,
        reversed_rows: Sequence[int] = (),
        reversed_ids: torch.Tensor | None = None,
        reversed_labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Frame term (each frame against the caption, averaged) + attribute_weight × attribute
        term (labels [B, 3]: colour, shape, motion indices) + motion_weight × clip term over the
        clips and, for `reversed_rows`, the same clips backwards captioned by `reversed_ids`."""
        count = input_ids.shape[0]
        rows = list(reversed_rows) if motion_weight > 0 and reversed_ids is not None else []
        ids, labels = input_ids, attribute_labels
        if rows:
            ids, labels = torch.cat([input_ids, reversed_ids]), torch.cat([attribute_labels, reversed_labels])
        texts, logits = self.text_embeds_and_attribute_logits(ids)
        images = [early, late]
        if motion_weight > 0:  # the forward difference, and the reversed clips' (negated) one
            images += [late - early, early[rows] - late[rows]]
        frames = self.image_encoder(torch.cat(images))  # one tower call
        first, second = frames[:count], frames[count : 2 * count]
        loss = (
            symmetric_info_nce(F.normalize(first, dim=-1), texts[:count], self.logit_scale)
            + symmetric_info_nce(F.normalize(second, dim=-1), texts[:count], self.logit_scale)
        ) / 2
        loss = loss + attribute_weight * attribute_loss(logits, labels)
        if motion_weight > 0:
            forward, backward = frames[2 * count : 3 * count], frames[3 * count :]
            pairs = torch.cat(
                [
                    torch.cat([first, second, forward], dim=-1),
                    torch.cat([second[rows], first[rows], backward], dim=-1),
                ]
            )
            clips = F.normalize(self.motion_head(pairs), dim=-1)
            loss = loss + motion_weight * symmetric_info_nce(clips, texts, self.logit_scale)
        return loss


ATTRIBUTE_CLASSES = {"colour": len(COLOURS), "shape": len(SHAPES), "motion": len(MOTIONS)}


def attribute_labels(attributes: Sequence[ShapeAttributes]) -> torch.Tensor:
    """[N, 3] class indices: colour, shape, motion in the grammar's order."""
    return torch.tensor(
        [[COLOURS.index(a.colour), SHAPES.index(a.shape), MOTIONS.index(a.motion)] for a in attributes],
        dtype=torch.int64,
    )


def attribute_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean of the three cross-entropies; logits [N, 5 + 3 + 4] split in ATTRIBUTE_CLASSES order."""
    parts = logits.split(list(ATTRIBUTE_CLASSES.values()), dim=-1)
    return sum(F.cross_entropy(part, labels[:, i]) for i, part in enumerate(parts)) / len(parts)


def symmetric_info_nce(images: torch.Tensor, texts: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's loss over unit embeddings [B, E]: pair i is the positive of row i and of column i;
    cross-entropy image → text and text → image, averaged. logit_scale is log(1 / temperature)."""
    scale = logit_scale.exp().clamp(max=MAX_LOGIT_SCALE)
    logits = scale * images @ texts.T  # [B, B]
    targets = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


class CaptionIds:
    """Token ids of captions, memoised (the grammar has a few thousand captions)."""

    def __init__(self, vocab_size: int) -> None:
        self.tokenizer = build_tokenizer(vocab_size)
        self.cache: dict[str, list[int]] = {}

    def __call__(self, captions: Sequence[str]) -> torch.Tensor:
        missing = [c for c in dict.fromkeys(captions) if c not in self.cache]
        for caption, encoding in zip(missing, self.tokenizer.encode_batch(missing), strict=True):
            self.cache[caption] = encoding.ids
        return torch.tensor([self.cache[c] for c in captions], dtype=torch.int64)


def keyframe_pixel_values(clips: Sequence, frame_indices: Sequence[int], image_size: int) -> torch.Tensor:
    """One key frame of each clip as CLIP pixel values [B, 3, S, S]."""
    frames = np.stack([clip.keyframes[k] for clip, k in zip(clips, frame_indices, strict=True)])
    return pixel_values_from_frames(signed_pixels(frames), image_size)


EDGE_FRAMES = 4  # the early frame is one of the first 4 key frames, the late one of the last 4
REVERSED_CAPTIONS = 21  # salt of the step's captions for the clips played backwards


def reversed_negatives(clips: Sequence, rng: np.random.Generator) -> tuple[list[int], list[str]]:
    """The clips that may be played backwards (their reversed combination is not held out) and
    a caption of each one's opposite motion."""
    rows, captions = [], []
    for row, clip in enumerate(clips):
        backwards = time_reversed(clip.attributes)
        if not is_heldout(backwards.colour, backwards.shape, backwards.motion):
            rows.append(row)
            captions.append(caption_for(backwards.colour, backwards.shape, backwards.motion, rng))
    return rows, captions


def early_and_late_frames(rng: np.random.Generator, count: int) -> tuple[list[int], list[int]]:
    """Per clip, an early and a late key frame index, far enough apart for any speed to show."""
    early = rng.integers(EDGE_FRAMES, size=count)
    late = KEYFRAME_COUNT - 1 - rng.integers(EDGE_FRAMES, size=count)
    return early.tolist(), late.tolist()


@torch.no_grad()
def zero_shot_accuracy(
    model: ContrastiveEncoders, caption_ids: CaptionIds, clips: Sequence, image_size: int, device: str
) -> dict[str, float]:
    """Classification over every colour × shape × motion caption ("a red circle moving left"):
    from each clip's middle key frame (colour, shape, both) and from its clip embedding of the
    first and last key frames (clip_colour, clip_shape, motion, all: the three together)."""
    combinations = all_combinations()
    prompts = [f"a {a.colour} {a.shape} {a.motion}" for a in combinations]
    text = model.text_embeds(caption_ids(prompts).to(device))

    def frames(index: int) -> torch.Tensor:
        return keyframe_pixel_values(clips, [index] * len(clips), image_size).to(device)

    def predictions(embeds: torch.Tensor) -> list:
        return [combinations[i] for i in (embeds @ text.T).argmax(dim=1).tolist()]

    from_frame = predictions(model.image_embeds(frames(KEYFRAME_COUNT // 2)))
    from_clip = predictions(model.clip_embeds(frames(0), frames(KEYFRAME_COUNT - 1)))
    truth = [clip.attributes for clip in clips]

    def rate(predicted: list, same) -> float:
        return float(np.mean([same(p, t) for p, t in zip(predicted, truth, strict=True)]))

    return {
        "colour": rate(from_frame, lambda p, t: p.colour == t.colour),
        "shape": rate(from_frame, lambda p, t: p.shape == t.shape),
        "colour_and_shape": rate(from_frame, lambda p, t: (p.colour, p.shape) == (t.colour, t.shape)),
        "clip_colour": rate(from_clip, lambda p, t: p.colour == t.colour),
        "clip_shape": rate(from_clip, lambda p, t: p.shape == t.shape),
        "motion": rate(from_clip, lambda p, t: p.motion == t.motion),
        "all": rate(from_clip, lambda p, t: p == t),
    }


def train(config: ClipTrainingConfig, stop: StopRequest | None = None) -> dict:
    """Run (or resume) the stage; returns the summary written beside the weights, plus
    "losses" {step: loss} of the steps this call ran."""
    torch.set_num_threads(config.threads)
    stop = stop or StopRequest()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    log = RunLog(config.out, quiet=config.quiet)
    model_set = ModelSetConfig.by_name(config.model_set)
    model = ContrastiveEncoders(model_set.text_encoder, model_set.image_encoder, config.seed).to(device)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    caption_ids = CaptionIds(model_set.text_encoder.vocab_size)
    image_size = model_set.image_encoder.image_size

    checkpoint = config.out / CHECKPOINT_FILE
    resumed = resume_or_start(
        checkpoint, models={"model": model}, optimizer=optimizer, config=config, log=log
    )
    step, recent_losses = resumed.step, resumed.extra["recent_losses"]
    train_seconds = resumed.extra["train_seconds"]

    def save() -> None:
        extra = {"recent_losses": recent_losses, "train_seconds": train_seconds}
        save_checkpoint(
            checkpoint,
            models={"model": model},
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
        clips = training_clips(config.data_seed, step, config.batch_size)
        early, late = early_and_late_frames(step_rng(config.seed, step, FRAME_CHOICE), len(clips))
        rows, backwards = reversed_negatives(clips, step_rng(config.seed, step, REVERSED_CAPTIONS))
        loss = model.contrastive_loss(
            keyframe_pixel_values(clips, early, image_size).to(device),
            keyframe_pixel_values(clips, late, image_size).to(device),
            caption_ids([clip.caption for clip in clips]).to(device),
            attribute_labels([clip.attributes for clip in clips]).to(device),
            attribute_weight=config.attribute_loss_weight,
            motion_weight=config.motion_loss_weight,
            reversed_rows=rows,
            reversed_ids=caption_ids(backwards).to(device) if rows else None,
            reversed_labels=attribute_labels([time_reversed(clips[r].attributes) for r in rows]).to(device),
        )
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
            log.step(
                step,
                config.steps,
                loss.item(),
                lr,
                step_seconds,
                temperature=1 / model.logit_scale.exp().item(),
            )
        if step % config.checkpoint_every == 0 or step == config.steps:
            save()

    if step < config.steps:  # stopped by SIGTERM/SIGINT
        return stopped_run(STAGE, step, checkpoint, save, log, losses)

    model.eval()
    metrics = {
        split: zero_shot_accuracy(
            model,
            caption_ids,
            evaluation_clips(config.data_seed, split, config.eval_clips),
            image_size,
            device,
        )
        for split in ("val", "heldout")
    }
    for split, accuracy in metrics.items():
        log.note(
            f"zero-shot {split} ({config.eval_clips} clips): "
            + ", ".join(f"{name} {value:.1%}" for name, value in accuracy.items())
        )
    summary = {
        "stage": STAGE,
        "config": config.to_dict(),
        "steps": step,
        "clips_seen": step * config.batch_size,
        "final_loss": float(np.mean(recent_losses[-20:])),
        "temperature": 1 / model.logit_scale.exp().item(),
        "zero_shot_accuracy": metrics,
        "zero_shot_chance": {
            "colour": 1 / 5,
            "shape": 1 / 3,
            "colour_and_shape": 1 / 15,
            "motion": 1 / 4,
            "all": 1 / 60,
        },
        "train_seconds": round(train_seconds, 1),
        "device": device,
    }
    tensors = {
        **prefixed("text_encoder.", model.text_encoder.state_dict()),
        **prefixed("image_encoder.", model.image_encoder.state_dict()),
        **prefixed("text_projection.", model.text_projection.state_dict()),
        "logit_scale": model.logit_scale.detach().reshape(1),
        **prefixed("motion_head.", model.motion_head.state_dict()),
        **prefixed("attribute_head.", model.attribute_head.state_dict()),
    }
    path = save_stage_weights(config.weights_out, STAGE, tensors, summary)
    log.note(f"wrote {path} and {path.with_suffix('.json').name}")
    return summary | {"losses": losses}


def parse_config(argv: Sequence[str] | None = None) -> ClipTrainingConfig:
    return parse_dataclass_config(ClipTrainingConfig, argv, __doc__)


def main(argv: Sequence[str] | None = None) -> None:
    stop = StopRequest()
    stop.install()
    train(parse_config(argv), stop)


if __name__ == "__main__":
    main()
