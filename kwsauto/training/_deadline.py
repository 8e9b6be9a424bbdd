"""Stop training when the search's wall-clock budget runs out, keeping the best weights so far."""

from __future__ import annotations

import time

import lightning.pytorch as pl

__all__ = ["Deadline"]


class Deadline(pl.Callback):
    """Asks the trainer to stop after the batch in which ``time.monotonic()`` passes ``deadline``."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False  # training was cut short: what it returns is not a finished run

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        if time.monotonic() > self.deadline:
            self.fired = True
            trainer.should_stop = True
