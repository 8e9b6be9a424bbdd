"""A callback that hands each finished epoch's metrics to a listener (the CLI's progress bar, a pruner)."""

from __future__ import annotations

import math
from collections.abc import Callable

import lightning.pytorch as pl

__all__ = ["EpochListener", "EpochReporter"]

EpochListener = Callable[[int, int, dict[str, float]], None]  # (epoch, max_epochs, metrics)


class EpochReporter(pl.Callback):
    """Calls ``listener(epoch, max_epochs, metrics)`` after each validation; stops training on a NaN loss."""

    def __init__(self, listener: EpochListener | None = None) -> None:
        self.listener = listener
        self.history: list[dict[str, float]] = []

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        metrics["epoch"] = trainer.current_epoch
        self.history.append(metrics)
        if self.listener is not None:
            self.listener(trainer.current_epoch, trainer.max_epochs or 0, metrics)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        loss = trainer.callback_metrics.get("train_loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise FloatingPointError(f"Training loss became {float(loss)} at epoch {trainer.current_epoch}.")
