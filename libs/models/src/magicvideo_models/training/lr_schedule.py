"""The learning-rate schedule every stage uses: linear warm-up, then cosine decay (as nanoGPT)."""

from __future__ import annotations

import math


def cosine_learning_rate(
    step: int, *, max_lr: float, warmup_steps: int, total_steps: int, min_ratio: float = 0.1
) -> float:
    """Learning rate for optimizer step `step` (0-based): warm-up over `warmup_steps`, then a
    cosine from `max_lr` down to `min_ratio * max_lr` at `total_steps`."""
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return max_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
