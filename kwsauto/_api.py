"""The Python API the CLI is a shell over: ``run_search``, ``train``, ``load_run``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kwsauto._io import read_yaml_mapping
from kwsauto.data import ClipIndex, DatasetOptions, load_dataset
from kwsauto.errors import ConfigError
from kwsauto.features import compute_features
from kwsauto.search import ModelCard, Run, run_search
from kwsauto.training import TrainResult, TrialConfig, fit, load_expert

__all__ = ["run_search", "train", "load_run", "export_run", "load_trial_config", "TrainOutcome"]


def load_trial_config(path: str | Path | None, pretrained: bool | str | None = None) -> TrialConfig:
    """A fixed trial config from a YAML file with ``features``/``model``/``train`` sections; None: defaults.

    ``pretrained`` (``--pretrained``) overrides the file's ``model.pretrained``: ``True`` for the shipped backbone,
    or a checkpoint path. A checkpoint's architecture and width apply unless the file sets them, and its feature
    config applies unless the file has a ``features`` section (which must then agree with it).
    """
    raw = read_yaml_mapping(Path(path), "Config file") if path is not None else {}
    raw = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    if pretrained is not None:
        model = raw.setdefault("model", {})
        model["pretrained"] = pretrained
        if pretrained is not True:
            from kwsauto.models import load_backbone_checkpoint

            ckpt = load_backbone_checkpoint(pretrained)
            if ckpt.arch is not None:
                model.setdefault("arch", ckpt.arch)
                model.setdefault("width", ckpt.width)
    try:
        config = TrialConfig.from_dict(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path else str(exc)) from None
    if config.model.pretrained is not False and "features" not in raw:
        config = config.with_backbone_features()
    return config


@dataclass(frozen=True)
class TrainOutcome:
    index: ClipIndex
    config: TrialConfig
    result: TrainResult


def train(
    data: str | Path | None,
    config: TrialConfig | None = None,
    *,
    expert: str | Path | None = None,
    dataset: DatasetOptions | None = None,
    cache_dir: Path | None = None,
    listener=None,
) -> TrainOutcome:
    """One training run without a search; the result carries test-split metrics."""
    config = config or TrialConfig()
    if data is None:
        from kwsauto.data.demo import ensure_demo_dataset

        data = ensure_demo_dataset(cache_dir)
    index = load_dataset(data, dataset)
    features = compute_features(index, config.features, cache_dir=cache_dir)
    result = fit(features, config, hooks=load_expert(expert), listener=listener, evaluate_test=True)
    return TrainOutcome(index, config, result)


def load_run(path: str | Path, storage: str | None = None) -> Run:
    """Open a run folder: its settings, its study (``.study``, ``.rows()``) and the chosen model's ``.card``.

    ``storage``: the study's database URL when it is not the folder's journal.
    """
    run = Run.open(path, storage)
    run.study  # noqa: B018  (opening the study now makes a folder without one a clear error here)
    return run


def export_run(
    path: str | Path, trial: int | None = None, formats: str | tuple[str, ...] = "tflite,onnx,c", cache_dir: Path | None = None
) -> tuple[Path, ModelCard]:
    """Export a trial of a finished search (default: its best feasible trial); returns the folder and card."""
    from kwsauto.device import get_device
    from kwsauto.search._export import export_trial, parse_formats

    run = Run.open(path)
    chosen = run.trained_trial(trial)
    settings = run.settings
    index = load_dataset(settings.data, settings.dataset)
    config = TrialConfig.from_dict(chosen.user_attrs["config"])
    features = compute_features(index, config.features, cache_dir=cache_dir)
    out = run.export_dir(chosen.number)
    card = export_trial(
        chosen, features, index, run.folder, get_device(settings.device), settings.budget, settings,
        formats=parse_formats(formats), out=out,
    )
    return out, card
