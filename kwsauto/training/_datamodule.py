"""The Lightning DataModule: cached features for evaluation, augmented batches for training."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from kwsauto.features import FeatureExtractor, FeatureSet
from kwsauto.training._augment import augment_features, augment_waves
from kwsauto.training._config import TrainConfig

__all__ = ["KwsDataModule"]


class KwsDataModule(pl.LightningDataModule):
    """Serves a :class:`FeatureSet`. Training batches are augmented by the config's policy.

    When the policy works on waveforms (time shift, background noise), training features are recomputed per
    batch from the cached waveforms; otherwise the cached features are used as they are.
    """

    def __init__(self, features: FeatureSet, config: TrainConfig) -> None:
        super().__init__()
        self.features = features
        self.config = config
        self.generator = torch.Generator().manual_seed(config.seed)
        self.extractor = FeatureExtractor(features.config) if config.augment.needs_waveforms else None

    @property
    def num_classes(self) -> int:
        return len(self.features.labels)

    def class_weights(self) -> torch.Tensor:
        """Inverse-frequency weights over the training labels (Edge Impulse's auto-balance)."""
        counts = torch.bincount(self.features["train"].labels, minlength=self.num_classes).float()
        return counts.sum() / (self.num_classes * counts.clamp_min(1))

    def train_dataloader(self) -> DataLoader:
        n = len(self.features["train"].labels)
        return DataLoader(
            TensorDataset(torch.arange(n)),
            batch_size=self.config.batch_size,
            shuffle=True,
            drop_last=n > self.config.batch_size,
            generator=self.generator,
            collate_fn=self._train_batch,
        )

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")

    def _eval_loader(self, split: str) -> DataLoader:
        data = self.features[split]
        return DataLoader(TensorDataset(data.features, data.labels), batch_size=256, shuffle=False)

    def _train_batch(self, items: list[tuple[torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.stack([i[0] for i in items])
        data = self.features["train"]
        augment = self.config.augment
        if self.extractor is not None:
            waves = augment_waves(
                data.waveforms(rows), augment, self.features.noise, self.features.config.sample_rate_hz, self.generator
            )
            feats = self.extractor(waves)  # [batch, 1, frames, coeffs]
        else:
            feats = data.features[rows]
        return augment_features(feats, augment, self.generator), data.labels[rows]
