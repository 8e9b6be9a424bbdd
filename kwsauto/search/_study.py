"""The search: an Optuna study over a search space, each trial budget-checked before it trains.

The study lives in ``study.journal`` in the run folder (Optuna's JournalStorage), so running the same
command again resumes it: finished trials are kept and numbering continues.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from kwsauto.data import ClipIndex, DatasetOptions, load_dataset
from kwsauto.device import DEFAULT_DEVICE, Budget, get_device
from kwsauto.errors import ConfigError
from kwsauto.features import compute_features
from kwsauto.search._best import export_best
from kwsauto.search._feasibility import ensure_space_can_fit
from kwsauto.search._leaderboard import best_feasible, leaderboard_rows
from kwsauto.search._objective import Objective, TrialListener
from kwsauto.search._run_folder import RunFolder
from kwsauto.search._space import load_space
from kwsauto.training import load_expert

__all__ = ["SearchSettings", "SearchResult", "run_search", "open_study", "SAMPLERS"]

_LOGGER = logging.getLogger(__name__)
SAMPLERS = ("tpe", "random")


@dataclass(frozen=True)
class SearchSettings:
    """A search, as the CLI's options describe it. ``data=None`` uses the built-in demo dataset."""

    data: Path | None = None
    budget: Budget = field(default_factory=lambda: Budget(ram_bytes=64 * 1024))
    device: str = DEFAULT_DEVICE
    space: str = "default"
    n_trials: int | None = 20
    time_limit_s: float | None = None
    out: Path | None = None
    study_name: str | None = None
    seed: int = 0
    sampler: str = "tpe"
    dataset: DatasetOptions = field(default_factory=DatasetOptions)
    expert: Path | None = None
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"Sampler must be one of {SAMPLERS}, but got {self.sampler!r}.")
        if self.n_trials is not None and self.n_trials < 1:
            raise ConfigError(f"--trials must be at least 1, but got {self.n_trials}.")

    def resolved_study_name(self) -> str:
        if self.study_name:
            return self.study_name
        return "demo" if self.data is None else Path(self.data).resolve().name.replace(" ", "-")


@dataclass(frozen=True)
class SearchResult:
    run: RunFolder
    study_name: str
    rows: list[dict[str, Any]]
    card: dict[str, Any] | None
    interrupted: bool = False


def _settings_record(settings: SearchSettings, data: Path, demo: bool) -> dict[str, Any]:
    return {
        "data": str(data),
        "demo": demo,
        "budget": settings.budget.to_dict(),
        "device": settings.device,
        "space": settings.space,
        "seed": settings.seed,
        "sampler": settings.sampler,
        "study": settings.resolved_study_name(),
        "dataset": {
            "keywords": settings.dataset.keywords,
            "noise_class": settings.dataset.noise_class,
            "val_fraction": settings.dataset.val_fraction,
            "test_fraction": settings.dataset.test_fraction,
            "speaker_patterns": list(settings.dataset.speaker_patterns),
        },
    }


def open_study(run: RunFolder, study_name: str, sampler: optuna.samplers.BaseSampler | None = None) -> optuna.Study:
    """The study in ``run``'s journal (created if missing)."""
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(run.storage_path)))
    return optuna.create_study(
        study_name=study_name, storage=storage, sampler=sampler, direction="maximize", load_if_exists=True
    )


def _fail_stale_trials(study: optuna.Study) -> int:
    """Mark RUNNING trials of dead processes on this host as failed (a search killed mid-trial)."""
    host = socket.gethostname()
    failed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.system_attrs.get("kwsauto_owner") or trial.user_attrs.get("owner", "")
        owner_host, _, pid = str(owner).partition(":")
        if owner_host == host and pid.isdigit() and _alive(int(pid)):
            continue
        study._storage.set_trial_user_attr(trial._trial_id, "error", "interrupted: its process ended mid-trial")
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        failed += 1
    return failed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_search(settings: SearchSettings, listener: TrialListener | None = None) -> SearchResult:
    """Run (or resume) the search described by ``settings`` and export its best feasible model."""
    listener = listener or TrialListener()
    started = time.monotonic()
    device = get_device(settings.device)
    space = load_space(settings.space)
    hooks = load_expert(settings.expert)
    study_name = settings.resolved_study_name()

    demo = settings.data is None
    if demo:
        from kwsauto.data.demo import ensure_demo_dataset

        data = ensure_demo_dataset(settings.cache_dir)
    else:
        data = Path(settings.data)
    index = load_dataset(data, settings.dataset)
    run = RunFolder(Path(settings.out or Path("runs") / study_name)).prepare()
    record = _settings_record(settings, data, demo)
    _check_resume(run, record)
    ensure_space_can_fit(space.architecture_choices(), len(index.labels), device, settings.budget)
    run.write_settings({**record, "labels": list(index.labels), "split_source": index.split_source})

    # Decode every clip now, so an unreadable file stops the search before the first trial.
    compute_features(index, space.architecture_choices()[0].features, cache_dir=settings.cache_dir)

    sampler_cls = optuna.samplers.TPESampler if settings.sampler == "tpe" else optuna.samplers.RandomSampler
    study = open_study(run, study_name, sampler_cls(seed=settings.seed))
    stale = _fail_stale_trials(study)
    if stale:
        _LOGGER.warning("Marked %d trial(s) of an interrupted search as failed", stale)
    deadline = started + settings.time_limit_s if settings.time_limit_s else None
    objective = Objective(space, index, device, settings.budget, run, hooks, listener, deadline, settings.cache_dir)
    owner = f"{socket.gethostname()}:{os.getpid()}"
    finished = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)))
    remaining = None if settings.n_trials is None else max(0, settings.n_trials - finished)

    def stamped(trial: optuna.Trial) -> float:
        trial.set_user_attr("owner", owner)
        return objective(trial)

    interrupted = False
    try:
        if remaining != 0:
            timeout = None if deadline is None else max(1.0, deadline - time.monotonic())
            study.optimize(stamped, n_trials=remaining, timeout=timeout, catch=(Exception,), gc_after_trial=True)
    except KeyboardInterrupt:
        interrupted = True
    card = _finish(study, objective, index, run, device, settings, record)
    return SearchResult(run, study_name, leaderboard_rows_with_test(study, card), card, interrupted)


def leaderboard_rows_with_test(study: optuna.Study, card: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = leaderboard_rows(study)
    if card is not None:
        for row in rows:
            if row["number"] == card["trial"]:
                row["test_accuracy"] = card["metrics"]["test_accuracy"]
                row["test_accuracy_int8"] = card["metrics"]["test_accuracy_int8"]
    return rows


def _finish(study, objective, index: ClipIndex, run: RunFolder, device, settings, record) -> dict[str, Any] | None:
    best = best_feasible(study)
    card = None
    if best is not None:
        previous = run.read_card() if (run.best_dir / "card.json").is_file() else None
        if previous and previous.get("trial") == best.number and (run.best_dir / "model_int8.onnx").is_file():
            card = previous
        else:
            from kwsauto.training import TrialConfig

            config = TrialConfig.from_dict(best.user_attrs["config"])
            card = export_best(best, objective.features(config.features), index, run, device, settings.budget, record)
    run.write_leaderboard(leaderboard_rows_with_test(study, card))
    return card


def _check_resume(run: RunFolder, record: dict[str, Any]) -> None:
    """Resuming with other settings would mix incomparable trials in one study: refuse, naming the difference."""
    path = run.path / "run.json"
    if not path.is_file():
        return
    previous = run.read_settings()
    for key in ("data", "budget", "device", "space", "dataset"):
        if key in previous and previous[key] != _jsonish(record[key]):
            raise ConfigError(
                f"Run folder {run.path} holds a search with {key}={previous[key]!r}, not {record[key]!r}. "
                "Use the same settings to resume it, or another --out/--study for a new search."
            )


def _jsonish(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))
