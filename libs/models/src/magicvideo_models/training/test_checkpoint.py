"""Checkpoints restore a run exactly and refuse a run with another configuration."""

from pathlib import Path

import pytest
import torch
from torch import nn

from magicvideo_models.training.checkpoint import (
    CheckpointMismatchError,
    load_checkpoint,
    save_checkpoint,
)


def _model_and_optimizer(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = nn.Linear(4, 3)
    return model, torch.optim.AdamW(model.parameters(), lr=1e-2)


def _train_step(model: nn.Module, optimizer: torch.optim.Optimizer) -> float:
    loss = model(torch.randn(8, 4)).pow(2).mean()  # draws from the global RNG on purpose
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def test_resuming_from_a_checkpoint_continues_exactly_as_the_uninterrupted_run(tmp_path: Path) -> None:
    model, optimizer = _model_and_optimizer(0)
    for _ in range(3):
        _train_step(model, optimizer)
    save_checkpoint(tmp_path / "c.pt", models={"m": model}, optimizer=optimizer, step=3, config={"lr": 1e-2})
    uninterrupted = [_train_step(model, optimizer) for _ in range(2)]

    fresh, fresh_optimizer = _model_and_optimizer(1)
    state = load_checkpoint(
        tmp_path / "c.pt",
        models={"m": fresh},
        optimizer=fresh_optimizer,
        config={"lr": 1e-2},
        resumable_keys=frozenset(),
    )
    resumed = [_train_step(fresh, fresh_optimizer) for _ in range(2)]
    assert state.step == 3
    assert resumed == uninterrupted


def test_a_checkpoint_of_another_configuration_is_refused_unless_the_key_may_change(tmp_path: Path) -> None:
    model, optimizer = _model_and_optimizer(0)
    save_checkpoint(
        tmp_path / "c.pt", models={"m": model}, optimizer=optimizer, step=1, config={"lr": 1.0, "steps": 5}
    )
    with pytest.raises(CheckpointMismatchError, match="lr"):
        load_checkpoint(
            tmp_path / "c.pt",
            models={"m": model},
            optimizer=optimizer,
            config={"lr": 2.0, "steps": 5},
            resumable_keys=frozenset({"steps"}),
        )
    state = load_checkpoint(
        tmp_path / "c.pt",
        models={"m": model},
        optimizer=optimizer,
        config={"lr": 1.0, "steps": 9},
        resumable_keys=frozenset({"steps"}),
    )
    assert state.step == 1


def test_saving_replaces_the_checkpoint_without_leaving_a_partial_file(tmp_path: Path) -> None:
    model, optimizer = _model_and_optimizer(0)
    for step in (1, 2):
        save_checkpoint(tmp_path / "c.pt", models={"m": model}, optimizer=optimizer, step=step, config={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]
    assert torch.load(tmp_path / "c.pt", weights_only=False)["step"] == 2
