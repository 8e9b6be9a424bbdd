"""Recompute BatchNorm statistics before each validation when an epoch has too few steps to track them.

BatchNorm's running averages follow the last ~10-20 steps. With a small dataset (a few steps per epoch,
Edge Impulse users' usual case) they lag far behind the weights, and the model evaluates at chance while it
trains well. "Precise BN" (Wu & Johnson 2021) fixes this: average the statistics over a fixed sample of
training clips with the current weights. Datasets with many steps per epoch do not need it.
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["PreciseBatchNorm", "STEPS_NEEDING_PRECISE_BN"]

STEPS_NEEDING_PRECISE_BN = 50


class PreciseBatchNorm(pl.Callback):
    """Before validation, set every BatchNorm's statistics to the average over ``features`` (shuffled once)."""

    def __init__(self, features: torch.Tensor, batch_size: int, max_batches: int = 32, seed: int = 0) -> None:
        order = torch.randperm(len(features), generator=torch.Generator().manual_seed(seed))
        self.features = features[order[: batch_size * max_batches]]  # [n, 1, frames, coeffs]
        self.batch_size = batch_size

    @torch.no_grad()
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        layers = [m for m in pl_module.modules() if isinstance(m, _BatchNorm)]
        if not layers:
            return
        momenta = [bn.momentum for bn in layers]
        for bn in layers:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the batches below
            bn.train()
        for start in range(0, len(self.features), self.batch_size):
            pl_module(self.features[start : start + self.batch_size].to(pl_module.device))
        for bn, momentum in zip(layers, momenta):
            bn.momentum = momentum
            bn.eval()
