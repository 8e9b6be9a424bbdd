"""``pretrain``: train backbones on a word corpus and save each with its feature config, labels and recipe.

Every model is trained as a classifier of all the corpus' words (plus the real datasets' labels), early-stopped
on voices it never trained on, with a cosine learning-rate decay; the classifier head is then dropped and the
backbone written as ``<out>/<name>.safetensors`` with ``<name>.recipe.json`` beside it. A backbone whose files
already exist with the same recipe is skipped, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from kwsauto._io import atomic_write_text
from kwsauto.data.corpus import CorpusSpec
from kwsauto.errors import ConfigError
from kwsauto.features import FeatureConfig, FeatureSet
from kwsauto.models import ModelSpec, load_backbone_checkpoint, resolve, save_backbone_checkpoint
from kwsauto.models._checkpoint import load_canonical_state_dict
from kwsauto.pretrain._corpus import pretraining_features
from kwsauto.training import (
    AugmentConfig,
    ExpertHooks,
    HardwareRequest,
    TrainConfig,
    TrialConfig,
    evaluate,
    fit,
    resolve_hardware,
)

__all__ = ["PRETRAIN_FEATURES", "PretrainResult", "PretrainSettings", "pretrain"]

_LOGGER = logging.getLogger(__name__)

# The front end of the shipped backbones: Edge Impulse's MFE with 20 ms frames every 20 ms, 40 filters (50x40
# for 1 s). Half the frames of a 10 ms stride: half the activations, so even MobileNetV1 0.25 fits 64 KB.
PRETRAIN_FEATURES = FeatureConfig(kind="mfe", frame_length_s=0.02, frame_stride_s=0.02, n_filters=40)


@dataclass(frozen=True)
class PretrainSettings:
    """What to pretrain, on what, and how.

    ``models``: registry names (``mobilenetv1_025``). ``corpus``: the synthetic word corpus (``None``: none);
    ``datasets``: real dataset folders whose train and validation splits join it.
    """

    models: tuple[str, ...]
    out: Path = Path("pretrained")
    corpus: CorpusSpec | None = field(default_factory=CorpusSpec)
    datasets: tuple[Path, ...] = ()
    features: FeatureConfig = PRETRAIN_FEATURES
    epochs: int = 12
    learning_rate: float = 0.005
    batch_size: int = 64
    seed: int = 0
    hardware: HardwareRequest = field(default_factory=HardwareRequest)  # where to train; not part of the recipe's plan

    def __post_init__(self) -> None:
        if not self.models:
            raise ConfigError("models is empty: name at least one model to pretrain, e.g. mobilenetv1_025.", field="models")
        for name in self.models:
            resolve(name)
        if self.corpus is None and not self.datasets:
            raise ConfigError("Nothing to pretrain on: keep the synthetic corpus or give dataset folders.")

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            augment=AugmentConfig(noise="low", time_mask="low", freq_mask="low"),
            label_smoothing=0.1,
            early_stopping_patience=0,
            seed=self.seed,
        )


@dataclass(frozen=True)
class PretrainResult:
    name: str
    path: Path
    recipe: dict[str, Any]
    skipped: bool = False


def _cosine(optimizer: torch.optim.Optimizer, epochs: int) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)


def pretrain(
    settings: PretrainSettings,
    *,
    command: str = "",
    cache_dir: Path | None = None,
    on_model_start: Callable[[str], None] | None = None,
    listener: Callable[[int, int, dict[str, float]], None] | None = None,
) -> list[PretrainResult]:
    """Pretrain every model of ``settings`` in turn; ``command`` (the CLI line) goes into each recipe."""
    hardware = resolve_hardware(settings.hardware)
    settings.out.mkdir(parents=True, exist_ok=True)
    features, sources = pretraining_features(
        settings.corpus, settings.datasets, settings.features, cache_dir, device=hardware.device
    )
    results = []
    for name in settings.models:
        entry = resolve(name)
        config = TrialConfig(settings.features, ModelSpec(entry.arch, entry.width), settings.train_config())
        plan = _plan(settings, config, sources, features)
        path = settings.out / f"{name}.safetensors"
        recipe_path = settings.out / f"{name}.recipe.json"
        done = _existing_recipe(recipe_path)
        if path.is_file() and done is not None and done.get("plan") == plan:
            _LOGGER.info("%s: already pretrained with this recipe (%s); skipping.", name, path)
            results.append(PretrainResult(name, path, done, skipped=True))
            continue
        if on_model_start is not None:
            on_model_start(name)
        result = fit(features, config, hooks=ExpertHooks(scheduler=_cosine), listener=listener, hardware=hardware)
        save_backbone_checkpoint(
            path,
            result.model.backbone,
            arch=entry.arch,
            width=entry.width,
            features=settings.features.to_dict(),
            labels=features.labels,
            recipe={"command": command, "plan": plan},
        )
        recipe = {
            "model": name,
            "command": command,
            "plan": plan,
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch + 1,
            "val_accuracy": round(result.val_accuracy, 4),
            "val_accuracy_int8_weights": round(_reloaded_accuracy(path, result.model, features), 4),
            "train_seconds": round(result.seconds, 1),
            "params_backbone": sum(p.numel() for p in result.model.backbone.parameters()),
            "file_bytes": path.stat().st_size,
            "made": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
            "torch": torch.__version__,
            "hardware": hardware.to_dict(),
        }
        atomic_write_text(recipe_path, json.dumps(recipe, indent=2) + "\n")
        _LOGGER.info("%s: validation accuracy %.3f -> %s", name, result.val_accuracy, path)
        results.append(PretrainResult(name, path, recipe))
    return results


def _plan(settings: PretrainSettings, config: TrialConfig, sources: list[dict], features: FeatureSet) -> dict:
    """Everything that determines the weights: equal plans give the same backbone."""
    return {
        "corpus": sources,
        "classes": len(features.labels),
        "features": settings.features.to_dict(),
        "model": config.model.to_dict(),
        "train": dataclasses.asdict(config.train),
        "schedule": "Adam, cosine decay to 0 over the epochs, best validation epoch kept",
        "seed": settings.seed,
    }


def _existing_recipe(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _reloaded_accuracy(path: Path, model: torch.nn.Module, features: FeatureSet) -> float:
    """Validation accuracy with the backbone as stored (int8 weights): what fine-tuning starts from."""
    ckpt = load_backbone_checkpoint(path)
    original = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    load_canonical_state_dict(model.backbone, ckpt.state_dict, path)
    try:
        return evaluate(model.eval(), features, "val").accuracy
    finally:
        model.backbone.load_state_dict(original)

