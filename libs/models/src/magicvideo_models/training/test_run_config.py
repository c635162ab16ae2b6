from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from torch import nn

from magicvideo_models.training.checkpoint import CHECKPOINT_FILE, CheckpointMismatchError, save_checkpoint
from magicvideo_models.training.run_config import (
    config_dict,
    parse_dataclass_config,
    resume_or_start,
    set_learning_rate,
)
from magicvideo_models.training.run_log import RunLog


@dataclass
class ToyConfig:
    out: Path = Path("runs/toy")
    steps: int = 10
    lr: float = 1e-3
    model_set: str = "tiny"
    quiet: bool = False

    RESUMABLE: frozenset[str] = field(default=frozenset({"out", "steps", "quiet"}), repr=False)

    def to_dict(self) -> dict:
        return config_dict(self)


def test_config_dict_drops_resumable_and_writes_paths_as_strings() -> None:
    assert config_dict(ToyConfig()) == {
        "out": "runs/toy",
        "steps": 10,
        "lr": 1e-3,
        "model_set": "tiny",
        "quiet": False,
    }


def test_no_flags_give_the_dataclass_defaults() -> None:
    assert parse_dataclass_config(ToyConfig, [], "toy") == ToyConfig()


def test_flags_are_typed_as_their_defaults_and_bools_are_switches() -> None:
    config = parse_dataclass_config(
        ToyConfig, ["--out", "runs/x", "--steps", "7", "--lr", "0.5", "--model-set", "small", "--quiet"], None
    )
    assert config == ToyConfig(out=Path("runs/x"), steps=7, lr=0.5, model_set="small", quiet=True)
    assert isinstance(config.out, Path) and isinstance(config.steps, int) and isinstance(config.lr, float)


def test_a_malformed_flag_value_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse_dataclass_config(ToyConfig, ["--steps", "seven"], None)


def _model_and_optimizer(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = nn.Linear(3, 2)
    return model, torch.optim.AdamW(model.parameters(), lr=1e-3)


def test_a_fresh_run_starts_at_step_zero_with_the_fresh_extras(tmp_path: Path) -> None:
    model, optimizer = _model_and_optimizer(0)
    config = ToyConfig(out=tmp_path, quiet=True)
    resumed = resume_or_start(
        tmp_path / CHECKPOINT_FILE,
        models={"model": model},
        optimizer=optimizer,
        config=config,
        log=RunLog(tmp_path, quiet=True),
        fresh_extra={"phase": "first"},
    )
    assert resumed.step == 0
    assert resumed.extra == {"recent_losses": [], "train_seconds": 0.0, "phase": "first"}
    assert "config {" in (tmp_path / "train.log").read_text()


def test_a_run_with_a_checkpoint_resumes_its_step_extras_and_weights(tmp_path: Path) -> None:
    saved_model, saved_optimizer = _model_and_optimizer(1)
    config = ToyConfig(out=tmp_path, quiet=True)
    save_checkpoint(
        tmp_path / CHECKPOINT_FILE,
        models={"model": saved_model},
        optimizer=saved_optimizer,
        step=4,
        config=config.to_dict(),
        extra={"recent_losses": [0.5], "train_seconds": 2.0},
    )
    model, optimizer = _model_and_optimizer(2)
    resumed = resume_or_start(
        tmp_path / CHECKPOINT_FILE,
        models={"model": model},
        optimizer=optimizer,
        config=ToyConfig(out=tmp_path, steps=20, quiet=True),  # steps is resumable
        log=RunLog(tmp_path, quiet=True),
        fresh_extra={"phase": "first"},
    )
    assert resumed.step == 4
    assert resumed.extra == {"recent_losses": [0.5], "train_seconds": 2.0}
    assert torch.equal(model.weight, saved_model.weight)
    assert "resumed from" in (tmp_path / "train.log").read_text()

    with pytest.raises(CheckpointMismatchError):
        resume_or_start(
            tmp_path / CHECKPOINT_FILE,
            models={"model": model},
            optimizer=optimizer,
            config=ToyConfig(out=tmp_path, lr=0.1, quiet=True),  # lr is not
            log=RunLog(tmp_path, quiet=True),
        )


def test_set_learning_rate_sets_every_parameter_group() -> None:
    model = nn.Linear(3, 2)
    optimizer = torch.optim.AdamW([{"params": [model.weight]}, {"params": [model.bias]}], lr=1e-3)
    set_learning_rate(optimizer, 0.25)
    assert [group["lr"] for group in optimizer.param_groups] == [0.25, 0.25]
