"""How a training run is asked to stop: SIGTERM or SIGINT sets a flag that the step loop reads
between steps, so the run finishes its step, writes its checkpoint and returns; resuming from that
checkpoint loses nothing (a kill between checkpoints loses up to --checkpoint-every steps)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from magicvideo_models.training.run_log import RunLog


class StopRequest:
    """Set by SIGTERM/SIGINT once installed; the loop finishes its step, saves and returns."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, _frame: object) -> None:
        self.requested = True

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self)
        signal.signal(signal.SIGINT, self)


def stopped_run(
    stage: str, step: int, checkpoint: Path, save: Callable[[], None], log: RunLog, losses: dict[int, float]
) -> dict:
    """Write the checkpoint of a run stopped before its last step and return what its train()
    returns then: no weights, no evaluation; the same command resumes it."""
    save()
    log.note(f"stopped at step {step}: checkpoint {checkpoint}; the same command resumes it")
    return {"stage": stage, "steps": step, "finished": False, "losses": losses}
