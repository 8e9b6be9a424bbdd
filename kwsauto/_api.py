"""The Python API the CLI is a shell over: ``run_search``, ``train``, ``load_run``, ``export_run``, ``predict``,
``firmware``.

The measuring calls (``profile``, ``benchmark``, ``summarize``, ``backbone_footprints``) live in
:mod:`kwsauto.evaluate`; ``import kwsauto`` reaches them all. Calls are quiet unless ``verbose=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kwsauto._io import read_yaml_mapping
from kwsauto._quiet import quiet
from kwsauto.data import ClipIndex, DatasetOptions, load_dataset
from kwsauto.errors import ConfigError, DataError
from kwsauto.export import FirmwareFiles
from kwsauto.export._predict import Prediction, predict_files
from kwsauto.features import compute_features
from kwsauto.search import ModelCard, Run, SearchResult, SearchSettings, TrialListener
from kwsauto.search import run_search as _run_search
from kwsauto.training import (
    EpochListener,
    HardwareRequest,
    TrainResult,
    TrialConfig,
    fit,
    load_expert,
    resolve_hardware,
)

__all__ = ["TrainOutcome", "export_run", "firmware", "load_run", "load_trial_config", "predict", "run_search", "train"]


def run_search(settings: SearchSettings, listener: TrialListener | None = None, *, verbose: bool = False) -> SearchResult:
    """Run (or resume) the search ``settings`` describe and export its best feasible model (see
    :func:`kwsauto.search.run_search`); ``verbose`` lets Optuna's and Lightning's messages through."""
    with quiet(not verbose):
        return _run_search(settings, listener)


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
    listener: EpochListener | None = None,
    verbose: bool = False,
    hardware: HardwareRequest | None = None,
    data_progress: Callable[[str, int, int], None] | None = None,
) -> TrainOutcome:
    """One training run without a search; the result carries test-split metrics and where it trained.

    ``data_progress(stage, done, total)`` follows decoding and feature extraction when they are not cached.
    """
    config = config or TrialConfig()
    hw = resolve_hardware(hardware)  # before any decoding: a missing GPU is reported at once
    if data is None:
        from kwsauto.data.demo import ensure_demo_dataset

        data = ensure_demo_dataset(cache_dir)
    index = load_dataset(data, dataset)
    features = compute_features(index, config.features, cache_dir=cache_dir, device=hw.device, progress=data_progress)
    with quiet(not verbose):
        result = fit(features, config, hooks=load_expert(expert), listener=listener, evaluate_test=True, hardware=hw)
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
    """Export a trial of a finished search; returns the folder and card.

    Default: the trial the search chose, as it chose it (re-selected over seeds and refit on train+val, when the
    search did so), else the best feasible trial. A ``trial`` number exports that trial's own weights.
    """
    from kwsauto.device import get_device
    from kwsauto.search._export import export_trial, parse_formats

    run = Run.open(path)
    chosen = run.trained_trial(trial)
    settings = run.settings
    index = load_dataset(settings.data, settings.dataset)
    config = TrialConfig.from_dict(chosen.user_attrs["config"])
    features = compute_features(index, config.features, cache_dir=cache_dir)
    out = run.export_dir(chosen.number)
    selection = run.card.selection if trial is None and run.card is not None else None
    state = run.folder.load_refit_state(chosen.number) if selection is not None and selection.refit else None
    with quiet():
        card = export_trial(
            chosen, features, index, run.folder, get_device(settings.device), settings.budget, settings,
            formats=parse_formats(formats), out=out, state=state, selection=selection,
        )
    return out, card


def predict(model: str | Path, files: list[str | Path], top_k: int = 3) -> list[Prediction]:
    """The ``top_k`` labels of each audio file by an exported .tflite or .onnx model, best first.

    The model's labels and feature parameters come from the ``card.json`` beside it, else from its metadata.
    """
    from kwsauto.evaluate import resolve_target

    if top_k < 1:
        raise ConfigError(f"top_k must be at least 1, but got {top_k}.", field="top_k")
    for path in map(Path, files):
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "is a broken link" if path.is_symlink() else "does not exist"
            raise DataError(f"Audio file {path} {what}; give audio files.")
    target = resolve_target(model)
    if target.features is None or not target.labels:
        raise ConfigError(f"{model} carries no labels or feature parameters and has no card.json beside it.")
    return predict_files(Path(model), [Path(f) for f in files], top_k, info=(target.labels, target.features))


def firmware(model: str | Path, out: str | Path | None = None, device: str | None = None) -> FirmwareFiles:
    """Write the C front end, ``kws_model_settings.h`` and a host example for an exported int8 ``.tflite`` into
    ``out`` (default: beside the model), its tensor arena sized for ``device`` (default: the model's run's device,
    else the default device)."""
    from kwsauto.device import DEFAULT_DEVICE, estimate_footprint, get_device
    from kwsauto.evaluate import resolve_target
    from kwsauto.export._firmware import read_model_io, write_firmware
    from kwsauto.export._tflite_reader import read_int8_graph

    model = Path(model)
    target = resolve_target(model)  # a model of a run (RUN/best) is sized for the run's device
    profile = get_device(device or (target.settings.device if target.settings is not None else DEFAULT_DEVICE))
    io = read_model_io(model)  # checked before anything is written
    estimate = estimate_footprint(read_int8_graph(model), io.features, profile, io.labels)
    folder = Path(out) if out is not None else model.parent
    return write_firmware(model, folder, device=profile.name, device_arena_bytes=estimate.arena_bytes)
