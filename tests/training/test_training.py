import pytest
import torch

from kwsauto.data import load_dataset
from kwsauto.errors import ConfigError
from kwsauto.features import FeatureConfig, compute_features
from kwsauto.models import ModelSpec
from kwsauto.training import (
    AugmentConfig,
    TrainConfig,
    TrialConfig,
    augment_features,
    augment_waves,
    classification_metrics,
    fit,
    load_expert,
)

FEATURES = FeatureConfig(frame_stride_s=0.02)


@pytest.fixture(scope="module")
def tone_features(tone_dataset):
    return compute_features(load_dataset(tone_dataset), FEATURES)


def _config(**train):
    return TrialConfig(FEATURES, ModelSpec("dscnn", 0.25), TrainConfig(**{"epochs": 15, "batch_size": 16, **train}))


def test_fit_learns_tones_and_restores_the_best_epoch(tone_features):
    seen = []
    result = fit(tone_features, _config(), listener=lambda e, m, metrics: seen.append(metrics["val_acc"]), evaluate_test=True)
    assert result.val_accuracy == pytest.approx(max(seen))
    assert result.val_accuracy >= 0.85 and result.test.accuracy >= 0.8  # chance is 1/3
    assert len(seen) == result.epochs_run


def test_augmented_training_runs(tone_features):
    augment = AugmentConfig(noise="high", time_mask="low", freq_mask="high", warping=True, time_shift_ms=100)
    result = fit(tone_features, _config(epochs=2, augment=augment, auto_balance=True))
    assert result.epochs_run == 2


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


def test_expert_hooks_replace_loss_and_optimizer(tmp_path, tone_features):
    expert = tmp_path / "expert.py"
    expert.write_text(
        "import torch\n"
        "CALLS = []\n"
        "def loss(class_weights):\n"
        "    CALLS.append('loss')\n"
        "    return torch.nn.CrossEntropyLoss(label_smoothing=0.1)\n"
        "def optimizer(parameters, learning_rate):\n"
        "    CALLS.append('optimizer')\n"
        "    return torch.optim.SGD(parameters, lr=learning_rate, momentum=0.9)\n"
        "def scheduler(optimizer, epochs):\n"
        "    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)\n"
        "def on_model(model):\n"
        "    CALLS.append(type(model).__name__)\n"
    )
    hooks = load_expert(expert)
    fit(tone_features, _config(epochs=1), hooks=hooks)
    calls = hooks.loss.__globals__["CALLS"]
    assert calls == ["KwsNet", "loss", "optimizer"]


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
