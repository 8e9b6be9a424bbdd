"""`pretrain`: a backbone with its recipe, resumable, that fine-tuning then starts from."""

from __future__ import annotations

import json

import lightning.pytorch as pl
import pytest
import torch

from kwsauto.data import load_dataset
from kwsauto.data.corpus import CorpusSpec
from kwsauto.errors import ConfigError
from kwsauto.features import compute_features
from kwsauto.models import ModelSpec, load_backbone_checkpoint
from kwsauto.models._checkpoint import canonical_state_dict
from kwsauto.pretrain import PRETRAIN_FEATURES, PretrainSettings, pretrain
from kwsauto.pretrain._corpus import pretraining_features
from kwsauto.training import TrainConfig, TrialConfig, fit


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, tone_dataset):
    out = tmp_path_factory.mktemp("pretrained")
    settings = PretrainSettings(
        models=("mobilenetv1_010",), out=out, corpus=CorpusSpec(words=("lamp", "river", "stop"), n_voices=4),
        datasets=(tone_dataset,), epochs=2,
    )
    return settings, pretrain(settings, command="kwsauto pretrain test")


def test_pretrain_writes_backbone_and_recipe(pretrained, tone_dataset):
    settings, (result,) = pretrained
    ckpt = load_backbone_checkpoint(result.path)
    assert (ckpt.arch, ckpt.width) == ("mobilenetv1", 0.1) and ckpt.features == PRETRAIN_FEATURES.to_dict()
    assert ckpt.labels == ("lamp", "river", "stop", f"{tone_dataset.name}/high", f"{tone_dataset.name}/low",
                           f"{tone_dataset.name}/mid")
    recipe = json.loads((settings.out / "mobilenetv1_010.recipe.json").read_text())
    assert recipe["command"] == "kwsauto pretrain test" and recipe["plan"]["seed"] == 0
    assert recipe["plan"]["train"]["epochs"] == 2 and recipe["epochs_run"] == 2
    assert "synthetic English words" in recipe["plan"]["corpus"][0]["source"]
    tones = recipe["plan"]["corpus"][1]
    split = load_dataset(tone_dataset)
    assert (tones["train_clips"], tones["val_clips"]) == (len(split.split("train")), len(split.split("val")))
    assert 0.0 <= recipe["val_accuracy"] <= 1.0 and 0.0 <= recipe["val_accuracy_int8_weights"] <= 1.0
    assert recipe["file_bytes"] == result.path.stat().st_size


def test_pretrain_resumes_by_skipping_finished_backbones(pretrained):
    settings, (first,) = pretrained
    mtime = first.path.stat().st_mtime_ns
    (again,) = pretrain(settings, command="kwsauto pretrain test")
    assert again.skipped and first.path.stat().st_mtime_ns == mtime


def test_pretraining_uses_train_and_validation_clips_never_test_clips(tone_dataset):
    own = compute_features(load_dataset(tone_dataset), PRETRAIN_FEATURES)
    merged, (source,) = pretraining_features(None, (tone_dataset,), PRETRAIN_FEATURES)
    used = torch.cat([merged["train"].features, merged["val"].features]).flatten(1)

    def found(clips: torch.Tensor) -> torch.Tensor:  # [n]: each clip is among those used
        return (clips.flatten(1)[:, None] == used[None]).all(-1).any(-1)

    assert len(own["test"].labels) > 0 and not found(own["test"].features).any()
    assert found(own["train"].features).all() and found(own["val"].features).all()
    assert len(merged["test"].labels) == 0 and "test split left out" in source["source"]


class _FirstStep(pl.Callback):
    """The backbone's weights as the first training step sees them."""

    state: dict[str, torch.Tensor] | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.state is None:
            self.state = canonical_state_dict(pl_module.model.backbone)


def test_fine_tuning_starts_from_the_dequantized_checkpoint(pretrained, tone_dataset):
    _, (result,) = pretrained
    features = compute_features(load_dataset(tone_dataset), PRETRAIN_FEATURES)
    config = TrialConfig(PRETRAIN_FEATURES, ModelSpec("mobilenetv1", 0.1, pretrained=str(result.path)),
                         TrainConfig(epochs=2, batch_size=16, freeze_epochs=1))
    first = _FirstStep()
    assert fit(features, config, callbacks=[first]).epochs_run == 2
    stored = load_backbone_checkpoint(result.path).state_dict  # int8 weights, dequantized
    assert first.state is not None and set(first.state) == set(stored)
    for key, value in stored.items():
        torch.testing.assert_close(first.state[key], value.to(first.state[key].dtype), rtol=0, atol=0, msg=key)


def test_bad_settings(tmp_path):
    with pytest.raises(ConfigError, match="Unknown model 'mobilenetv3_010'"):
        PretrainSettings(models=("mobilenetv3_010",), out=tmp_path)
    with pytest.raises(ConfigError, match="Nothing to pretrain on"):
        PretrainSettings(models=("mobilenetv1_010",), out=tmp_path, corpus=None)
