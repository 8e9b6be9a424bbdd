import dataclasses
import math
from collections import defaultdict

import lightning.pytorch as pl
import pytest
import torch

from kwsauto.errors import ConfigError
from kwsauto.features import FeatureConfig
from kwsauto.models import ModelSpec
from kwsauto.training import (
    AugmentConfig,
    TrainConfig,
    TrialConfig,
    augment_features,
    augment_waves,
    classification_metrics,
    evaluate,
    fit,
    load_expert,
)
from tests.conftest import TONE_FEATURES_CONFIG

FEATURES = FeatureConfig(**TONE_FEATURES_CONFIG)


def _config(**train):
    return TrialConfig(FEATURES, ModelSpec("dscnn", 0.25), TrainConfig(**{"epochs": 15, "batch_size": 16, **train}))


class _Recorder(pl.Callback):
    """What the trainer fed the model, per epoch; optionally wrecks the weights before the last validation."""

    def __init__(self, wreck_last_epoch: bool = False) -> None:
        self.wreck_last_epoch = wreck_last_epoch
        self.train_inputs: dict[int, list[torch.Tensor]] = defaultdict(list)
        self.val_inputs: dict[int, list[torch.Tensor]] = defaultdict(list)
        self.loss_weight: torch.Tensor | None = None

    def on_fit_start(self, trainer, pl_module):
        self.loss_weight = pl_module.loss_fn.weight

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.train_inputs[trainer.current_epoch].append(batch[0].clone())

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self.val_inputs[trainer.current_epoch].append(batch[0].clone())

    def on_validation_start(self, trainer, pl_module):
        if self.wreck_last_epoch and trainer.current_epoch == trainer.max_epochs - 1:
            with torch.no_grad():
                for p in pl_module.parameters():
                    p.zero_()  # constant outputs: chance accuracy, worse than any earlier epoch


def test_fit_learns_tones_and_restores_the_best_epoch(tone_features):
    seen = []
    result = fit(tone_features, _config(early_stopping_patience=0), callbacks=[_Recorder(wreck_last_epoch=True)],
                 listener=lambda e, m, metrics: seen.append(metrics["val_acc"]), evaluate_test=True)
    assert len(seen) == result.epochs_run == 15
    assert seen[-1] < max(seen) and result.best_epoch == seen.index(max(seen))
    # the returned weights, evaluated afresh, are the best epoch's, not the wrecked last one's
    assert evaluate(result.model, tone_features, "val").accuracy == pytest.approx(max(seen))
    assert result.val_accuracy == pytest.approx(max(seen))
    assert result.val_accuracy >= 0.85 and result.test.accuracy >= 0.8  # chance is 1/3


def _found_in(inputs: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """``[n]``: whether each of ``inputs`` is exactly one of ``pool`` (both ``[n, 1, frames, coeffs]``)."""
    return (inputs.flatten(1)[:, None] == pool.flatten(1)[None]).all(-1).any(-1)


def _drop_train_clips(features, label: int, keep: int):
    """The feature set with only ``keep`` training clips of class ``label``: an imbalanced training split."""
    train = features["train"]
    rows = torch.cat([torch.nonzero(train.labels == label)[:keep, 0], torch.nonzero(train.labels != label)[:, 0]])
    subset = dataclasses.replace(train, features=train.features[rows], waves=train.waves[rows], labels=train.labels[rows])
    return dataclasses.replace(features, splits={**features.splits, "train": subset})


def test_augmented_training_balances_classes_and_augments_only_training_inputs(tone_features):
    features = _drop_train_clips(tone_features, label=0, keep=6)
    counts = torch.bincount(features["train"].labels, minlength=3).float()
    augment = AugmentConfig(noise="high", time_mask="low", freq_mask="high", warping=True, time_shift_ms=100)
    recorder = _Recorder()
    result = fit(features, _config(epochs=2, augment=augment, auto_balance=True), callbacks=[recorder])
    assert result.epochs_run == 2
    # inverse-frequency class weights: the rare class weighs most
    torch.testing.assert_close(recorder.loss_weight, counts.sum() / (3 * counts))
    assert recorder.loss_weight[0] > 2 * recorder.loss_weight[1]
    # training inputs are augmented afresh every epoch: no input of epoch 1 recurs in epoch 2, none is a cached one
    first, second = (torch.cat(recorder.train_inputs[e]) for e in (0, 1))
    assert not _found_in(first, second).any() and not _found_in(first, features["train"].features).any()
    # validation inputs are the cached features, the same in both epochs
    for epoch in (0, 1):
        assert torch.equal(torch.cat(recorder.val_inputs[epoch]), features["val"].features)


def test_without_augmentation_or_auto_balance_training_sees_the_cached_features(tone_features):
    features = _drop_train_clips(tone_features, label=0, keep=6)
    recorder = _Recorder()
    fit(features, _config(epochs=1), callbacks=[recorder])
    assert recorder.loss_weight is None
    assert _found_in(torch.cat(recorder.train_inputs[0]), features["train"].features).all()  # the clips as cached


class _FirstValidationStats(pl.Callback):
    """At the first validation: the first BatchNorm's running mean, and the mean of its inputs over the training clips."""

    def __init__(self, train_x: torch.Tensor) -> None:
        self.train_x = train_x
        self.running_mean = self.input_mean = None

    @torch.no_grad()
    def on_validation_start(self, trainer, pl_module):
        if self.running_mean is not None:
            return
        bn = next(m for m in pl_module.modules() if isinstance(m, torch.nn.BatchNorm2d))
        self.running_mean = bn.running_mean.clone()
        inputs = []
        handle = bn.register_forward_pre_hook(lambda module, args: inputs.append(args[0].mean(dim=(0, 2, 3))))
        was_training = pl_module.training
        pl_module.eval()
        pl_module(self.train_x)
        pl_module.train(was_training)
        handle.remove()
        self.input_mean = inputs[0]


def test_precise_batchnorm_validates_with_the_training_sets_statistics(tone_features):
    """Five steps into training, BatchNorm's running mean would be ~40 % of the way there; precise BN is exact."""
    stats = _FirstValidationStats(tone_features["train"].features)
    fit(tone_features, _config(epochs=1), callbacks=[stats])
    assert len(tone_features["train"].labels) / 16 < 10  # few steps per epoch: precise BN is on
    torch.testing.assert_close(stats.running_mean, stats.input_mean, rtol=0.03, atol=1e-3)


def test_augmentations_change_inputs_but_not_shapes():
    g = torch.Generator().manual_seed(0)
    waves = torch.randn(4, 16000) * 0.1
    noise = torch.randn(2, 48000)
    out = augment_waves(waves, AugmentConfig(time_shift_ms=100, background_noise=1.0), noise, 16000, g)
    assert out.shape == waves.shape and not torch.equal(out, waves)
    feats = torch.rand(4, 1, 49, 40)
    masked = augment_features(feats, AugmentConfig(time_mask="high", freq_mask="high", warping=True), g)
    assert masked.shape == feats.shape and (masked == 0).sum() > 0
    assert torch.equal(augment_features(feats, AugmentConfig(), g), feats)


def test_metrics_per_class():
    m = classification_metrics(torch.tensor([0, 0, 1, 1, 2]), torch.tensor([0, 1, 1, 1, 0]), ("a", "b", "c"))
    assert m.accuracy == pytest.approx(0.6)
    assert m.recall == pytest.approx((0.5, 1.0, 0.0)) and m.confusion[0] == (1, 1, 0)
    assert m.macro_f1 == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_expert_hooks_replace_loss_optimizer_and_scheduler_and_add_callbacks(tmp_path, tone_features):
    expert = tmp_path / "expert.py"
    expert.write_text(
        "import lightning.pytorch as pl\n"
        "import torch\n"
        "CALLS = []\n"
        "LRS = []\n"
        "def loss(class_weights):\n"
        "    CALLS.append('loss')\n"
        "    return torch.nn.CrossEntropyLoss(label_smoothing=0.1)\n"
        "def optimizer(parameters, learning_rate):\n"
        "    CALLS.append('optimizer')\n"
        "    return torch.optim.SGD(parameters, lr=learning_rate, momentum=0.9)\n"
        "def scheduler(optimizer, epochs):\n"
        "    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)\n"
        "class LearningRates(pl.Callback):\n"
        "    def on_train_epoch_start(self, trainer, pl_module):\n"
        "        LRS.append((type(trainer.optimizers[0]).__name__, trainer.optimizers[0].param_groups[0]['lr']))\n"
        "def callbacks():\n"
        "    return [LearningRates()]\n"
        "def on_model(model):\n"
        "    CALLS.append(type(model).__name__)\n"
    )
    hooks = load_expert(expert)
    config = _config(epochs=3, learning_rate=0.01)
    fit(tone_features, config, hooks=hooks)
    calls, lrs = hooks.loss.__globals__["CALLS"], hooks.loss.__globals__["LRS"]
    assert calls == ["KwsNet", "loss", "optimizer"]
    # the hook's callback ran every epoch, seeing the hook's optimizer stepped by the hook's cosine schedule
    assert [name for name, _ in lrs] == ["SGD"] * 3
    assert [lr for _, lr in lrs] == pytest.approx([0.01 * (1 + math.cos(math.pi * e / 3)) / 2 for e in range(3)])


@pytest.mark.parametrize(
    "source, match",
    [("def loss():\n    pass\n", "must be a function of 1"), ("x = 1\n", "defines none of the hooks"), ("def (\n", "failed to load")],
)
def test_bad_expert_files(tmp_path, source, match):
    path = tmp_path / "bad.py"
    path.write_text(source)
    with pytest.raises(ConfigError, match=match):
        load_expert(path)


def test_bad_train_settings_are_named():
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="did you mean 'low'"):
        AugmentConfig(noise="lo")
    with pytest.raises(ConfigError, match="learning_rat.*did you mean 'learning_rate'"):
        TrainConfig.from_dict({"learning_rat": 0.1})
