"""The search: an Optuna study over a search space, each trial budget-checked before it trains.

The study lives in ``study.journal`` in the run folder (Optuna's JournalStorage) or in a shared database
(``--storage postgresql://…``), so running the same command again resumes it: finished trials are kept and
numbering continues. ``workers`` > 1 runs that many trial processes on this machine, sharing the study.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna

from kwsauto._interrupt import exit_code_of, raising_on_stop_signals
from kwsauto._redact import redact
from kwsauto._serial import check_choice, from_dict
from kwsauto.data import DatasetOptions, load_dataset
from kwsauto.device import DEFAULT_DEVICE, Budget, get_device
from kwsauto.errors import ConfigError
from kwsauto.features import compute_features
from kwsauto.search._enqueue import enqueue_from
from kwsauto.search._export import export_trial
from kwsauto.search._feasibility import ensure_space_can_fit
from kwsauto.search._leaderboard import best_feasible, leaderboard_rows, with_test_accuracy
from kwsauto.search._objective import METRICS, Objective, TrialListener
from kwsauto.search._pareto import write_pareto
from kwsauto.search._quiet_logs import quiet_failed_trial_logs
from kwsauto.search._records import HardwareRecord, ModelCard, RunSettings
from kwsauto.search._run_folder import RunFolder
from kwsauto.search._space import builtin_seeds, load_space
from kwsauto.search._storage import (
    OWNER_ATTR,
    counted_trials,
    fail_stale_trials,
    make_storage,
    owner_tag,
    retry_interrupted,
)
from kwsauto.training import Hardware, HardwareRequest, TrialConfig, load_expert, resolve_hardware

__all__ = ["SearchSettings", "SearchResult", "run_search", "open_study", "SAMPLERS", "PRUNERS", "OBJECTIVES"]

_LOGGER = logging.getLogger(__name__)
SAMPLERS = ("tpe", "random", "nsga2")
PRUNERS = ("median", "hyperband", "none")
DEFAULT_TRIALS = 20
# Of a --time-limit, the share kept for the final export after the last trial (quantizing, TFLM verification)
FINISH_RESERVE_FRACTION = 0.1
FINISH_RESERVE_MAX_S = 120.0
OBJECTIVES = ("accuracy", "pareto")


@dataclass(frozen=True)
class SearchSettings:
    """A search, as the CLI's options describe it: these are the only defaults (the CLI's options default to None).

    ``data=None`` uses the built-in demo dataset; ``space=None`` the ``quick`` space for the demo, else ``default``.
    The budget's unset limits are the device's capacity.
    """

    data: Path | None = None
    budget: Budget = field(default_factory=Budget)
    device: str = DEFAULT_DEVICE
    space: str | None = None
    n_trials: int | None = None  # None: until the time limit, or 20 trials when there is no time limit
    time_limit_s: float | None = None
    out: Path | None = None
    study_name: str | None = None
    seed: int = 0
    sampler: str = "tpe"
    pruner: str = "median"
    objective: str = "accuracy"
    metric: str = "accuracy"
    workers: int = 1
    storage: str | None = None
    enqueue: Path | None = None
    dataset: DatasetOptions = field(default_factory=DatasetOptions)
    expert: Path | None = None
    cache_dir: Path | None = None
    precheck: bool = True  # benchmarks only: False trains infeasible trials to show the time the pre-check saves
    seeds: bool = True  # a built-in space's known-good configurations (search_spaces/seeds/) run first
    pretrained: str | None = None  # a checkpoint every trial starts from (pins architecture, width, features)
    hardware: HardwareRequest = field(default_factory=HardwareRequest)  # each worker its own GPU when there are several

    def __post_init__(self) -> None:
        for name, valid in (("sampler", SAMPLERS), ("pruner", PRUNERS), ("objective", OBJECTIVES), ("metric", METRICS)):
            check_choice(name, getattr(self, name), valid, field=name)
        if self.n_trials is not None and self.n_trials < 1:
            raise ConfigError(f"n_trials must be at least 1, but got {self.n_trials}.", field="n_trials")
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, but got {self.workers}.", field="workers")

    def resolved_space(self) -> str:
        if self.space is not None:
            return self.space
        return "quick" if self.data is None else "default"

    @property
    def trial_limit(self) -> int | None:
        """Trained trials to reach (rejected infeasible ones do not count); None: until the time limit."""
        if self.n_trials is not None:
            return self.n_trials
        return None if self.time_limit_s is not None else DEFAULT_TRIALS

    def resolved_study_name(self) -> str:
        if self.study_name:
            return self.study_name
        return "demo" if self.data is None else Path(self.data).resolve().name.replace(" ", "-")


@dataclass(frozen=True)
class SearchResult:
    run: RunFolder
    study_name: str
    rows: list[dict[str, Any]]
    card: ModelCard | None
    interrupted: bool = False
    pareto: list[dict[str, Any]] | None = None
    exit_code: int = 0  # 130 after Ctrl-C, 143 after SIGTERM: the work stopped early, what finished is kept


def open_study(
    run: RunFolder, study_name: str, sampler: optuna.samplers.BaseSampler | None = None, *,
    storage: str | None = None, pareto: bool | None = None,
) -> optuna.Study:
    """The study in ``run``'s journal, or at the ``storage`` URL (created if missing)."""
    backend = make_storage(run.storage_path, storage)
    if pareto is None:  # reading an existing study: take its directions
        return optuna.load_study(study_name=study_name, storage=backend)
    directions = ["maximize", "minimize", "minimize"] if pareto else ["maximize"]
    return optuna.create_study(
        study_name=study_name, storage=backend, sampler=sampler, directions=directions, load_if_exists=True
    )


def _sampler(settings: SearchSettings) -> optuna.samplers.BaseSampler:
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=settings.seed)
    if settings.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=settings.seed)
    return optuna.samplers.TPESampler(seed=settings.seed, multivariate=True, group=True, constant_liar=True)


def _pruner(settings: SearchSettings) -> optuna.pruners.BasePruner:
    if settings.pruner == "hyperband" and settings.objective == "accuracy":
        return optuna.pruners.HyperbandPruner(min_resource=2)
    if settings.pruner == "median" and settings.objective == "accuracy":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=3)
    return optuna.pruners.NopPruner()


def _settings_record(settings: SearchSettings, data: Path, demo: bool, hardware: Hardware) -> RunSettings:
    return RunSettings(
        data=str(data),
        demo=demo,
        study=settings.resolved_study_name(),
        budget=settings.budget,
        device=settings.device,
        space=settings.resolved_space(),
        seed=settings.seed,
        sampler=settings.sampler,
        pruner=settings.pruner,
        objective=settings.objective,
        metric=settings.metric,
        n_trials=settings.n_trials,
        time_limit_s=settings.time_limit_s,
        workers=settings.workers,
        expert=str(settings.expert) if settings.expert else None,
        pretrained=settings.pretrained,
        storage=redact(settings.storage) if settings.storage else None,
        dataset=settings.dataset,
        accelerator=settings.hardware.accelerator,
        precision=settings.hardware.precision,
        hardware=from_dict(HardwareRecord, hardware.to_dict(), "hardware field"),
    )


@dataclass
class _Prepared:
    settings: SearchSettings
    run: RunFolder
    study: optuna.Study
    objective: Objective
    record: RunSettings


def _prepare(
    settings: SearchSettings, listener: TrialListener, started: float, *, first: bool, worker: int = 0
) -> _Prepared:
    device = get_device(settings.device)
    hardware = resolve_hardware(settings.hardware, worker=worker)
    space = load_space(settings.resolved_space())
    if settings.pretrained is not None:
        space = space.with_checkpoint(settings.pretrained)
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
    record = _settings_record(settings, data, demo, hardware)
    if first:
        _check_resume(run, record)
        ensure_space_can_fit(space.architecture_choices(), index.labels, device, settings.budget)
        if settings.pretrained is not None:  # a checkpoint of another model would fail every trial: stop now
            _check_checkpoint_fits(space.architecture_choices()[0], len(index.labels))
        run.write_settings(replace(record, labels=tuple(index.labels), split_source=index.split_source))
        # Decode every clip now, so an unreadable file stops the search before the first trial.
        compute_features(
            index, space.architecture_choices()[0].features, cache_dir=settings.cache_dir, device=hardware.device,
            progress=listener.on_data,
        )
    study = open_study(run, study_name, _sampler(settings), storage=settings.storage, pareto=settings.objective == "pareto")
    study.pruner = _pruner(settings)
    deadline = _trials_deadline(settings, started)
    objective = Objective(
        space, index, device, settings.budget, run, hooks, listener, deadline, settings.cache_dir,
        metric=settings.metric, pareto=settings.objective == "pareto", prune=settings.pruner != "none",
        weights_in_storage=settings.storage is not None, precheck=settings.precheck, hardware=hardware,
    )
    return _Prepared(settings, run, study, objective, record)


def _check_checkpoint_fits(config: TrialConfig, n_labels: int) -> None:
    from kwsauto.models import create_model, load_pretrained

    load_pretrained(create_model(config.model, n_labels, config.features.shape), config.model,
                    config.features.to_dict())


def _trials_deadline(settings: SearchSettings, started: float) -> float | None:
    """When trials must stop so that the final export still fits in ``--time-limit``."""
    if settings.time_limit_s is None:
        return None
    reserve = min(FINISH_RESERVE_MAX_S, FINISH_RESERVE_FRACTION * settings.time_limit_s)
    return started + settings.time_limit_s - reserve


class _StopAtTrialLimit:
    """Stops the study at ``limit`` counted trials, or at ``cap`` trials of any kind (a space whose samples are
    almost all infeasible must still end)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.cap = 10 * limit

    def reached(self, study: optuna.Study) -> bool:
        return counted_trials(study) >= self.limit or len(study.get_trials(deepcopy=False)) >= self.cap

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.reached(study):
            study.stop()


def _optimize(prepared: _Prepared, started: float) -> None:
    """Run trials until the trial limit counts (see :func:`counted_trials`) or the time for trials has passed.

    A trial stopped by Ctrl-C or SIGTERM is recorded as interrupted, queued again with its parameters, and the
    interrupt goes on up to the caller.
    """
    settings, study = prepared.settings, prepared.study
    owner = owner_tag()

    def stamped(trial: optuna.Trial) -> Any:
        trial.set_user_attr(OWNER_ATTR, owner)
        try:
            return prepared.objective(trial)
        except KeyboardInterrupt as exc:
            retry_interrupted(study, trial, f"interrupted: stopped by {exc.args[0] if exc.args else 'SIGINT'}")
            raise

    callbacks = []
    if settings.trial_limit is not None:
        stop = _StopAtTrialLimit(settings.trial_limit)
        if stop.reached(study):
            return
        callbacks.append(stop)
    deadline = _trials_deadline(settings, started)
    timeout = None if deadline is None else max(1.0, deadline - time.monotonic())
    with quiet_failed_trial_logs():
        study.optimize(stamped, timeout=timeout, catch=(Exception,), gc_after_trial=True, callbacks=callbacks)


def run_search(settings: SearchSettings, listener: TrialListener | None = None) -> SearchResult:
    """Run (or resume) the search described by ``settings`` and export its best feasible model.

    Ctrl-C or SIGTERM stops the current trial at its next batch (it is queued again for the next run), stops the
    workers, writes the leaderboard and still exports the best finished trial; ``exit_code`` then says which.
    """
    listener = listener or TrialListener()
    started = time.monotonic()
    settings = _cap_workers(settings)
    prepared = _prepare(settings, listener, started, first=True)
    fail_stale_trials(prepared.study)
    seeds = settings.enqueue or (builtin_seeds(settings.resolved_space()) if settings.seeds and not settings.pretrained else None)
    if seeds is not None:
        enqueue_from(prepared.study, seeds, prepared.objective.space)
    exit_code = 0
    workers: list[multiprocessing.Process] = []
    import torch

    threads = torch.get_num_threads()
    try:
        workers = _start_workers(settings, settings.workers - 1)
        _optimize(prepared, started)
        for process in workers:
            process.join()
    except KeyboardInterrupt as exc:
        exit_code = exit_code_of(exc)
        _stop_workers(workers)
    finally:
        torch.set_num_threads(threads)  # the workers' share was for the search only, not for the caller's later work
    rows = leaderboard_rows(prepared.study)
    prepared.run.write_leaderboard(rows)  # first, so that an interrupt during the export still leaves it
    card = None
    try:
        card = _finish(prepared)
    except KeyboardInterrupt as exc:  # best/ is replaced whole or not at all: the previous export stays intact
        exit_code = exit_code or exit_code_of(exc)
    pareto = write_pareto(prepared.study, prepared.run) if settings.objective == "pareto" else None
    return SearchResult(prepared.run, settings.resolved_study_name(), with_test_accuracy(leaderboard_rows(prepared.study), card),
                        card, exit_code != 0, pareto, exit_code)


def _cap_workers(settings: SearchSettings) -> SearchSettings:
    """More trial processes than cores only slow every trial down (and each holds its own copy of the data)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if settings.workers <= cores:
        return settings
    _LOGGER.warning("--workers %d is more than the %d CPU cores here; using %d", settings.workers, cores, cores)
    return replace(settings, workers=cores)


def _stop_workers(workers: list[multiprocessing.Process], grace_s: float = 2.0) -> None:
    """Ask every worker to stop (SIGTERM: its trial ends at the next batch), then kill any still running."""
    for process in workers:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + grace_s
    for process in workers:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


def _start_workers(settings: SearchSettings, n: int) -> list[multiprocessing.Process]:
    """``n`` more trial processes sharing the study; torch threads split between all workers, GPUs round-robin."""
    if n <= 0:
        return []
    import torch

    threads = max(1, (os.cpu_count() or 1) // (n + 1))
    torch.set_num_threads(threads)
    context = multiprocessing.get_context("spawn")
    # each worker samples with its own seed, or two fresh workers would propose the same first configurations
    processes = [
        context.Process(
            target=_worker_main, args=(replace(settings, seed=settings.seed + i + 1), threads, i + 1), daemon=False
        )
        for i in range(n)
    ]
    for process in processes:
        process.start()
    return processes


def _worker_main(settings: SearchSettings, threads: int, worker: int) -> None:
    """A worker process: the same study, its own trials (on its own GPU when there are several), log lines."""
    import torch

    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.monotonic()
    try:
        with raising_on_stop_signals():  # the main process stops its workers with SIGTERM: end like Ctrl-C
            prepared = _prepare(replace(settings, enqueue=None), _LogListener(), started, first=False, worker=worker)
            _optimize(prepared, started)
    except KeyboardInterrupt:
        pass


class _LogListener(TrialListener):
    def on_trial_end(self, number, result, error) -> None:
        outcome = error or f"val acc {100 * result.val_accuracy:.1f}%"
        print(f"[worker {os.getpid()}] trial {number}: {outcome}", flush=True)


def _finish(prepared: _Prepared) -> ModelCard | None:
    study, run, objective = prepared.study, prepared.run, prepared.objective
    best = best_feasible(study)
    card = None
    if best is not None:
        previous = run.read_card()
        if previous and previous.trial == best.number and (run.best_dir / "model_int8.tflite").is_file():
            card = previous
        else:
            config = TrialConfig.from_dict(best.user_attrs["config"])
            card = export_trial(
                best, objective.features(config.features), objective.index, run, objective.device,
                prepared.settings.budget, prepared.record,
            )
    run.write_leaderboard(with_test_accuracy(leaderboard_rows(study), card))
    return card


def _check_resume(run: RunFolder, record: RunSettings) -> None:
    """Resuming with other settings would mix incomparable trials in one study: refuse, naming the difference."""
    if not run.settings_path.is_file():
        return
    previous = run.read_settings()
    for key in RunSettings.RESUME_KEYS:
        if getattr(previous, key) != getattr(record, key):
            raise ConfigError(
                f"Run folder {run.path} holds a search with {key}={getattr(previous, key)!r}, not {getattr(record, key)!r}. "
                "Use the same settings to resume it, or another `out`/`study_name` for a new search."
            )
