"""Fine-tuning: the backbone is frozen for ``freeze_epochs``, then joins at the learning rate times its factor."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

from kwsauto.errors import ConfigError
from kwsauto.features import FeatureConfig
from kwsauto.models import ModelSpec, create_model, load_pretrained
from kwsauto.training import TrainConfig, TrialConfig, fit
from tests.conftest import TONE_FEATURES_CONFIG, save_random_backbone

FEATURES = FeatureConfig(**TONE_FEATURES_CONFIG)


@pytest.fixture(scope="module")
def backbone_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "mobilenetv1_010.safetensors"
    save_random_backbone(path, labels=tuple("abcdefg"))
    return path


class _Snapshots(pl.Callback):
    """Backbone and head weights and the optimizer's groups at the end of each training epoch."""

    def __init__(self):
        self.epochs = []

    def on_train_epoch_end(self, trainer, pl_module):
        net = pl_module.model
        groups = [(len(g["params"]), g["lr"]) for g in trainer.optimizers[0].param_groups]
        self.epochs.append((net.backbone.features[1][0].weight.detach().clone(), net.head.fc.weight.detach().clone(), groups))


def test_backbone_frozen_then_unfrozen_at_its_factor(tone_features, backbone_file):
    spec = ModelSpec("mobilenetv1", 0.1, pretrained=str(backbone_file))
    config = TrialConfig(FEATURES, spec, TrainConfig(epochs=4, batch_size=16, learning_rate=0.01, freeze_epochs=2,
                                                     backbone_lr_factor=0.1, early_stopping_patience=0))
    snaps = _Snapshots()
    start = load_pretrained(create_model(spec, 3, FEATURES.shape), spec, FEATURES.to_dict())
    fit(tone_features, config, callbacks=[snaps])
    (b0, h0, g0), (b1, h1, g1), (b2, _, g2), (b3, _, _) = snaps.epochs
    assert torch.equal(b0, start.backbone.features[1][0].weight) and torch.equal(b1, b0)  # frozen epochs 0 and 1
    assert not torch.equal(h1, h0)  # the head trains meanwhile
    assert not torch.equal(b2, b1) and not torch.equal(b3, b2)  # unfrozen at epoch 2
    assert len(g1) == 2 and len(g2) == 3  # head (+ BatchNorm at the factor), then the backbone's convs join
    assert g2[2][1] == pytest.approx(0.01 * 0.1)


def test_pretrained_trial_starts_from_the_checkpoint(tone_features, backbone_file):
    """With no frozen epochs the backbone trains from the start, at its own learning rate."""
    spec = ModelSpec("mobilenetv1", 0.1, pretrained=str(backbone_file))
    config = TrialConfig(FEATURES, spec, TrainConfig(epochs=1, batch_size=16, backbone_lr_factor=0.5))
    snaps = _Snapshots()
    fit(tone_features, config, callbacks=[snaps])
    assert [lr for _, lr in snaps.epochs[0][2]] == pytest.approx([0.005, 0.0025])


def test_finetune_settings_are_checked():
    with pytest.raises(ConfigError, match="freeze_epochs must be >= 0"):
        TrainConfig(freeze_epochs=-1)
    with pytest.raises(ConfigError, match=r"backbone_lr_factor must be in \(0, 10\]"):
        TrainConfig(backbone_lr_factor=0.0)
    with pytest.raises(ConfigError, match="pretrained must be true, false, or a checkpoint path"):
        ModelSpec(pretrained="")
