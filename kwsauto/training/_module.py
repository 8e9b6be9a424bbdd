"""The LightningModule: a kwsauto network, cross-entropy, Adam or AdamW and a per-step learning-rate schedule."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch import nn

from kwsauto.training._config import TrainConfig
from kwsauto.training._expert import ExpertHooks
from kwsauto.training._schedule import StepSchedule

__all__ = ["KwsLightningModule"]


class KwsLightningModule(pl.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        class_weights: torch.Tensor | None = None,
        hooks: ExpertHooks | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self.hooks = hooks or ExpertHooks()
        weights = class_weights if config.auto_balance else None
        if self.hooks.loss is not None:
            self.loss_fn = self.hooks.loss(weights)
        else:
            self.loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=config.label_smoothing)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x)  # [batch, classes]

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = self.loss_fn(logits, y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        self.log("train_acc", (logits.argmax(1) == y).float().mean(), on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y), batch_size=len(y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), batch_size=len(y))

    def _param_groups(self) -> list[dict]:
        """The head at the learning rate, the (trainable part of the) backbone at ``backbone_lr_factor`` times it."""
        lr = self.config.learning_rate
        backbone = getattr(self.model, "backbone", None)
        if backbone is None or self.config.backbone_lr_factor == 1.0:
            return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]
        in_backbone = {id(p) for p in backbone.parameters()}
        head = [p for p in self.parameters() if p.requires_grad and id(p) not in in_backbone]
        body = [p for p in backbone.parameters() if p.requires_grad]
        groups = [{"params": head, "lr": lr}]
        if body:
            groups.append({"params": body, "lr": lr * self.config.backbone_lr_factor})
        return groups

    def configure_optimizers(self):
        params = self._param_groups()
        config = self.config
        if self.hooks.optimizer is not None:
            optimizer = self.hooks.optimizer(params, config.learning_rate)
        elif config.optimizer == "adamw":
            optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
        else:
            optimizer = torch.optim.Adam(params, lr=config.learning_rate, weight_decay=config.weight_decay)
        if self.hooks.scheduler is not None:
            scheduler = self.hooks.scheduler(optimizer, config.epochs)
            if scheduler is None:
                return optimizer
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
        if config.lr_schedule == "constant":
            return optimizer
        steps = int(self.trainer.estimated_stepping_batches)
        scheduler = StepSchedule(optimizer, config.lr_schedule, steps, config.warmup_fraction)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
