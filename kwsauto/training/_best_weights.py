"""Keep the weights of the best validation epoch and put them back when training ends (Keras' restore_best_weights)."""

from __future__ import annotations

import copy
import math
from typing import Any

import lightning.pytorch as pl

__all__ = ["RestoreBestWeights"]


class RestoreBestWeights(pl.Callback):
    """Tracks ``monitor`` (higher is better) and restores the best epoch's weights at the end of fit
    (with ``restore=False`` it only tracks the best score and epoch)."""

    def __init__(self, monitor: str = "val_acc", restore: bool = True) -> None:
        self.monitor = monitor
        self.restore = restore
        self.best_score = -math.inf
        self.best_epoch = -1
        self.best_state: dict[str, Any] | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        score = trainer.callback_metrics.get(self.monitor)
        if score is not None and float(score) > self.best_score:
            self.best_score = float(score)
            self.best_epoch = trainer.current_epoch
            if self.restore:
                self.best_state = copy.deepcopy(pl_module.state_dict())

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.best_state is not None:
            pl_module.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch, "best_state": self.best_state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best_score = state_dict["best_score"]
        self.best_epoch = state_dict["best_epoch"]
        self.best_state = state_dict["best_state"]
