"""Resumable training state: model(s), optimizer, step, RNG state and run config in one file.

Written to `<name>.partial` then renamed over the old file (os.replace is atomic on POSIX), so a
run killed mid-save leaves the previous checkpoint intact, never a truncated one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

CHECKPOINT_FILE = "checkpoint.pt"


class CheckpointMismatchError(ValueError):
    """The checkpoint in a run folder was written by a run with a different configuration."""


@dataclass(frozen=True)
class ResumedState:
    step: int  # optimizer steps already taken
    extra: dict[str, Any]  # whatever the stage stored beside the weights (phase, metrics so far)


def save_checkpoint(
    path: Path,
    *,
    models: Mapping[str, nn.Module],
    optimizer: torch.optim.Optimizer,
    step: int,
    config: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Atomically write the state a run needs to continue exactly where it stopped."""
    state = {
        "models": {name: module.state_dict() for name, module in models.items()},
        "optimizer": optimizer.state_dict(),
        "step": step,
        "config": dict(config),
        "extra": dict(extra or {}),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def load_checkpoint(
    path: Path,
    *,
    models: Mapping[str, nn.Module],
    optimizer: torch.optim.Optimizer | None,
    config: Mapping[str, Any],
    resumable_keys: frozenset[str],
) -> ResumedState:
    """Restore models, optimizer and RNG state from `path`.

    Raises CheckpointMismatchError when the stored config differs from `config` outside
    `resumable_keys` (the settings a run may change on resume: more steps, threads, log cadence).
    `optimizer` None skips its state (a stage that changes optimizer between phases loads it later
    with `load_optimizer_state`).
    """
    state = torch.load(path, map_location="cpu", weights_only=False)
    changed = sorted(
        key
        for key in set(state["config"]) | set(config)
        if key not in resumable_keys and state["config"].get(key) != config.get(key)
    )
    if changed:
        details = ", ".join(f"{k}: {state['config'].get(k)!r} → {config.get(k)!r}" for k in changed)
        raise CheckpointMismatchError(f"{path} was written by a different run ({details})")
    for name, module in models.items():
        module.load_state_dict(state["models"][name])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    if torch.cuda.is_available() and state["cuda_rng"]:
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return ResumedState(step=int(state["step"]), extra=dict(state["extra"]))


def load_optimizer_state(path: Path, optimizer: torch.optim.Optimizer) -> None:
    """The optimizer state of a checkpoint (see load_checkpoint's `optimizer` None)."""
    optimizer.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["optimizer"])
