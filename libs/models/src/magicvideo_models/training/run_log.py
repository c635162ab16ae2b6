"""A training run's log: one line per N steps (step, loss, lr, step time) to stdout and train.log."""

from __future__ import annotations

import time
from pathlib import Path

LOG_FILE = "train.log"


class RunLog:
    """Appends to `<run folder>/train.log` (a resumed run continues the same file) and prints."""

    def __init__(self, run_folder: Path, *, quiet: bool = False) -> None:
        run_folder.mkdir(parents=True, exist_ok=True)
        self.path = run_folder / LOG_FILE
        self.quiet = quiet

    def note(self, text: str) -> None:
        """A free line: the config at start, a resume, evaluation results."""
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}"
        if not self.quiet:
            print(line, flush=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def step(
        self, step: int, total: int, loss: float, lr: float, step_seconds: float, **values: float
    ) -> None:
        """The per-step line: `step 120/2000 loss 0.0123 lr 4.0e-04 2.31 s/step ...`."""
        extra = "".join(f" {name} {value:.4g}" for name, value in values.items())
        self.note(f"step {step}/{total} loss {loss:.5f} lr {lr:.2e} {step_seconds:.3f} s/step{extra}")
