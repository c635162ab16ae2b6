"""A stage's run configuration: read from the command line, held against the checkpoint a run
resumes from, and applied to the optimizer step by step.

Every stage's config is a dataclass of plain fields (Path, str, int, float, bool) plus
`RESUMABLE`, the settings a resumed run may change. The stage scripts keep their own loop; these
are the pieces that are the same in each of them.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch
from torch import nn

from magicvideo_models.training.checkpoint import ResumedState, load_checkpoint
from magicvideo_models.training.run_log import RunLog


class RunConfig(Protocol):
    RESUMABLE: frozenset[str]

    def to_dict(self) -> dict: ...


ConfigT = TypeVar("ConfigT", bound=RunConfig)


def config_dict(config: Any) -> dict[str, Any]:
    """A config dataclass's settings without RESUMABLE, paths as strings (JSON- and
    checkpoint-comparable)."""
    values = asdict(config)
    values.pop("RESUMABLE")
    return {key: str(value) if isinstance(value, Path) else value for key, value in values.items()}


def parse_dataclass_config(
    config_cls: type[ConfigT], argv: Sequence[str] | None, description: str | None
) -> ConfigT:
    """One flag per setting (`batch_size` → `--batch-size`), typed as its default; a bool setting
    is a switch that turns it on."""
    defaults = config_cls()
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for key, value in defaults.to_dict().items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, action="store_true", default=value)
        else:
            parser.add_argument(flag, type=type(getattr(defaults, key)), default=getattr(defaults, key))
    return config_cls(**vars(parser.parse_args(argv)))


def resume_or_start(
    checkpoint: Path,
    *,
    models: Mapping[str, nn.Module],
    optimizer: torch.optim.Optimizer | None,
    config: RunConfig,
    log: RunLog,
    fresh_extra: Mapping[str, Any] | None = None,
) -> ResumedState:
    """The state stored in `checkpoint` when the run folder has one (models, optimizer and RNG
    restored; see load_checkpoint), else step 0 with the extras a fresh run starts from:
    "recent_losses" [], "train_seconds" 0.0 and `fresh_extra`. Logs the resume or the config."""
    if not checkpoint.is_file():
        log.note(f"config {config.to_dict()}")
        return ResumedState(step=0, extra={"recent_losses": [], "train_seconds": 0.0, **(fresh_extra or {})})
    resumed = load_checkpoint(
        checkpoint,
        models=models,
        optimizer=optimizer,
        config=config.to_dict(),
        resumable_keys=config.RESUMABLE,
    )
    log.note(f"resumed from {checkpoint} at step {resumed.step}")
    return resumed


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """This step's learning rate in every parameter group (the schedule is the stage's)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
