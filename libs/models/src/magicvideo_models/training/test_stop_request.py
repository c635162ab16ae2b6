"""The stop request every trainer's loop reads: a signal sets it; StopAfter stands in for one in
the trainers' tests."""

import os
import signal

from magicvideo_models.training.stop_request import StopRequest


class StopAfter(StopRequest):
    """A stop request that arrives after `checks` loop iterations, as SIGTERM would."""

    def __init__(self, checks: int) -> None:
        self.checks = checks

    @property
    def requested(self) -> bool:  # type: ignore[override]
        self.checks -= 1
        return self.checks < 0


def test_sigterm_and_sigint_set_the_request_once_installed() -> None:
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        for signum in previous:
            stop = StopRequest()
            stop.install()
            assert not stop.requested
            os.kill(os.getpid(), signum)
            assert stop.requested
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
