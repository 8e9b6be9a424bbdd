"""Early stopping on a smoothed validation loss, never before a minimum number of epochs.

Validation accuracy on a few hundred clips wobbles by a point from epoch to epoch; stopping on it ends trials that
are still learning. The loss, smoothed by an exponential moving average, moves with the model rather than the noise.
"""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl

__all__ = ["SmoothedEarlyStopping"]


class SmoothedEarlyStopping(pl.Callback):
    """Stop when the EMA of ``monitor`` (lower is better) has not improved for ``patience`` epochs.

    ``smoothing`` is the weight of the previous average; an improvement must exceed ``min_improvement`` of the
    best average so far (the average creeping towards a plateau is not learning); ``min_epochs`` epochs always run.
    """

    def __init__(self, patience: int, min_epochs: int = 1, monitor: str = "val_loss", smoothing: float = 0.4,
                 min_improvement: float = 0.01) -> None:
        if patience < 1:
            raise ValueError(f"patience must be at least 1, but got {patience=}.")
        self.patience = patience
        self.min_epochs = min_epochs
        self.monitor = monitor
        self.smoothing = smoothing
        self.min_improvement = min_improvement
        self.average: float | None = None
        self.best = math.inf
        self.wait = 0
        self.stopped_epoch: int | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        value = float(value)
        self.average = value if self.average is None else self.smoothing * self.average + (1 - self.smoothing) * value
        if self.average < self.best * (1 - self.min_improvement):
            self.best, self.wait = self.average, 0
        else:
            self.wait += 1
        if self.wait >= self.patience and trainer.current_epoch + 1 >= self.min_epochs:
            self.stopped_epoch = trainer.current_epoch
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"average": self.average, "best": self.best, "wait": self.wait}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.average, self.best, self.wait = state_dict["average"], state_dict["best"], state_dict["wait"]
