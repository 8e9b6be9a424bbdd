"""What a benchmark or a summary is about, resolved from the path a user gives.

``RUN_DIR`` is the run's chosen model (its best feasible trial); ``RUN_DIR/trials/0003``, or ``RUN_DIR`` with
``trial=3``, one trial; ``RUN_DIR/best`` the chosen model again; a ``.tflite``/``.onnx`` file an exported model,
described by the ``card.json`` beside it (or, without a card, by the labels and feature parameters the file
carries). Anything else is a one-line error naming the path and what is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from optuna.trial import FrozenTrial

from kwsauto.errors import ConfigError, KwsautoError
from kwsauto.export import export_files
from kwsauto.features import FeatureConfig
from kwsauto.search import ModelCard, Run, RunFolder, RunSettings, TrialRecord
from kwsauto.training import TrialConfig

__all__ = [
    "MODEL_FILES",
    "ModelTarget",
    "resolve_target",
    "resolve_targets",
]

# runtime variant → the file an export writes for it, from the one table of export files
MODEL_FILES: dict[str, str] = {f.variant: f.name for f in export_files() if f.variant is not None}
_MODEL_SUFFIXES = (".tflite", ".onnx")


@dataclass(frozen=True)
class ModelTarget:
    """One model to benchmark or summarize: its files, labels, feature config, and where it came from.

    ``files`` maps a variant of :data:`MODEL_FILES` to an existing file. A trial of a run also has its
    ``config`` and, once trained, its weights (``trained``); ``notes`` say what is missing and why.
    """

    name: str
    labels: tuple[str, ...]
    features: FeatureConfig | None
    files: dict[str, Path]
    run: RunFolder | None = None
    settings: RunSettings | None = None
    trial: int | None = None
    config: TrialConfig | None = None
    trained: bool = False
    frozen: FrozenTrial | None = None
    card: ModelCard | None = None
    notes: tuple[str, ...] = ()

    @property
    def is_trial(self) -> bool:
        return self.run is not None and self.config is not None


def _is_run(path: Path) -> bool:
    return path.is_dir() and (path / "run.json").is_file()


def resolve_target(path: str | Path, trial: int | None = None, storage: str | None = None) -> ModelTarget:
    """The model that ``path`` (and ``trial``, for a run folder) names; see the module docstring.

    ``storage`` is the study's database URL for a run whose study is not in its folder's journal.
    """
    path = Path(path)
    if path.parent.name == "trials" and path.name.isdigit() and _is_run(path.parent.parent):
        # a trial folder exists only once the trial trained; an infeasible trial still has a footprint
        if trial is not None and trial != int(path.name):
            raise ConfigError(
                f"trial {trial} was given, but {path} is trial {int(path.name)}; give one of them.", field="trial"
            )
        return _trial_target(Run.open(path.parent.parent, storage), int(path.name))
    if not path.exists():
        raise ConfigError(
            f"{path} does not exist; give a run folder, a trial folder (RUN/trials/0003) or a .tflite/.onnx model."
        )
    if path.is_file():
        if trial is not None:
            raise ConfigError(
                f"trial {trial} needs a run folder, but {path} is a model file; drop `trial` or give the run.",
                field="trial",
            )
        if path.suffix not in _MODEL_SUFFIXES:
            raise ConfigError(
                f"{path} is not a .tflite or .onnx model; give a model, a run folder or a trial folder."
            )
        return _model_file_target(path)
    if _is_run(path):
        return _trial_target(Run.open(path, storage), trial)
    if path.name == "best" and _is_run(path.parent):
        return _trial_target(Run.open(path.parent, storage), trial)
    models = [path / name for name in MODEL_FILES.values() if (path / name).is_file()]
    if models and (path / "card.json").is_file():
        return _model_file_target(models[-1])
    raise ConfigError(
        f"{path} is not a run folder (no run.json), a trial folder (RUN/trials/0003) or a .tflite/.onnx model; "
        "give one of those."
    )


def resolve_targets(
    path: str | Path, trial: int | None = None, top: int | None = None, storage: str | None = None
) -> list[ModelTarget]:
    """One target, or with ``top`` the ``top`` best trained feasible trials of the run at ``path``."""
    if top is None:
        return [resolve_target(path, trial, storage)]
    if top < 1:
        raise ConfigError(f"top must be at least 1, but got {top}.", field="top")
    if trial is not None:
        raise ConfigError(
            f"top and `trial` exclude each other, but got top={top}, trial={trial}; give one.", field="top"
        )
    path = Path(path)
    if not _is_run(path):
        raise ConfigError(
            f"top needs a run folder (with run.json), but got {path}; give the folder a search wrote.", field="top"
        )
    run = Run.open(path, storage)
    numbers = [r["number"] for r in run.rows() if r["state"] == "complete" and r.get("feasible")]
    chosen = run.trial().number  # the exported model first (re-selection may have chosen below the best by val)
    numbers = ([chosen] + [n for n in numbers if n != chosen])[:top] if chosen in numbers else numbers[:top]
    if not numbers:
        raise ConfigError(
            f"{path} has no finished trial that fits the budget; run the search longer or with a larger budget."
        )
    return [_trial_target(run, n) for n in numbers]


def _trial_target(run: Run, number: int | None) -> ModelTarget:
    chosen = run.trial(number)
    record = TrialRecord.of(chosen)
    if record.config is None:
        raise ConfigError(
            f"Trial {record.number} of {run.path} has no config (state {chosen.state.name.lower()}); pick another trial."
        )
    labels = run.settings.labels or (run.card.labels if run.card is not None else ())
    # a complete feasible trial trained; its weights are in trials/<n>/ or, from another machine, in the study
    notes: list[str] = []
    if not record.trained:
        state = "infeasible" if record.feasible is False else chosen.state.name.lower()
        notes.append(
            f"trial {record.number} was not trained (state {state}): it has a footprint, no accuracy or latency"
        )
    exported = run.exported_card(record.number)
    files: dict[str, Path] = {}
    if exported is not None:
        folder = exported[0]
        files = {k: folder / name for k, name in MODEL_FILES.items() if (folder / name).is_file()}
    return ModelTarget(
        name=f"trial {record.number}",
        labels=labels,
        features=record.config.features,
        files=files,
        run=run.folder,
        settings=run.settings,
        trial=record.number,
        config=record.config,
        trained=record.trained,
        frozen=chosen,
        card=exported[1] if exported is not None else None,
        notes=tuple(notes),
    )


def _check_model_file(path: Path) -> None:
    """A one-line error for a file that is named like a model but does not parse as one."""
    if path.suffix == ".tflite":
        from kwsauto.export import tflite_op_names

        tflite_op_names(path)  # raises "... is not a TFLite model" / "... is a corrupt TFLite model"
        return
    import onnx
    from google.protobuf.message import DecodeError

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError) as exc:
        raise ConfigError(
            f"{path} is not a readable ONNX model ({type(exc).__name__}); export it again."
        ) from None
    if not proto.graph.node:
        raise ConfigError(f"{path} is not a readable ONNX model (it has no graph); export it again.")


def _model_file_target(path: Path) -> ModelTarget:
    from kwsauto.export._predict import load_model_info

    _check_model_file(path)
    card_path = path.parent / "card.json"
    card = ModelCard.read(card_path) if card_path.is_file() else None
    notes: list[str] = []
    labels: tuple[str, ...] = ()
    features: FeatureConfig | None = None
    if card is not None:
        labels, features = card.labels, card.features
    else:
        notes.append(
            f"no card.json beside {path.name}: no budget, test split or training metrics from a card"
        )
        try:
            labels, features = load_model_info(path)
        except KwsautoError:
            notes.append(
                f"{path.name} carries no labels or feature parameters: footprint uses the default MFE features"
            )
    files = {k: path for k, name in MODEL_FILES.items() if name == path.name}
    if not files:  # a model file under another name: its kind from its suffix
        files = {"int8_tflite" if path.suffix == ".tflite" else "int8_onnx": path}
    if card is not None:  # the card's sibling files, so an .onnx still gets its footprint from the .tflite
        for key, name in MODEL_FILES.items():
            if key not in files and (path.parent / name).is_file():
                files[key] = path.parent / name
    run = _run_of_export(path.parent)
    return ModelTarget(
        name=path.name,
        labels=labels,
        features=features,
        files=files,
        run=run,
        settings=run.read_settings() if run is not None else None,
        trial=card.trial if card is not None else None,
        card=card,
        notes=tuple(notes),
    )


def _run_of_export(folder: Path) -> RunFolder | None:
    """The run an export folder belongs to: ``RUN/best`` or ``RUN/trials/<n>/export``."""
    for candidate in (folder.parent, folder.parent.parent.parent):
        if _is_run(candidate):
            return RunFolder(candidate)
    return None
