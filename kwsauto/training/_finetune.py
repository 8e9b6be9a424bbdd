"""Freeze-then-unfreeze fine-tuning of a pretrained backbone, as Lightning's ``BaseFinetuning`` does it."""

from __future__ import annotations

import lightning.pytorch as pl
from lightning.pytorch.callbacks import BaseFinetuning
from torch.optim import Optimizer

__all__ = ["BackboneFreeze"]


class BackboneFreeze(BaseFinetuning):
    """Train only the head (and the backbone's BatchNorm) for ``freeze_epochs``, then the whole network.

    The backbone joins the optimizer at the head's current learning rate times ``backbone_lr_factor``. The
    module must expose the network as ``model`` with a ``backbone`` attribute (kwsauto's ``KwsNet``).
    """

    def __init__(self, freeze_epochs: int, backbone_lr_factor: float = 1.0) -> None:
        super().__init__()
        if freeze_epochs < 1:
            raise ValueError(f"freeze_epochs must be at least 1, but got {freeze_epochs=}.")
        self.freeze_epochs = freeze_epochs
        self.backbone_lr_factor = backbone_lr_factor

    def freeze_before_training(self, pl_module: pl.LightningModule) -> None:
        self.freeze(pl_module.model.backbone, train_bn=True)

    def finetune_function(self, pl_module: pl.LightningModule, epoch: int, optimizer: Optimizer) -> None:
        if epoch == self.freeze_epochs:
            lr = optimizer.param_groups[0]["lr"] * self.backbone_lr_factor
            self.unfreeze_and_add_param_group(pl_module.model.backbone, optimizer, lr=lr, train_bn=True)
