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
from kwsauto.data import DatasetOptions, check_dataset, load_dataset
from kwsauto.device import DEFAULT_DEVICE, Budget, get_device
from kwsauto.errors import ConfigError
from kwsauto.features import compute_features
from kwsauto.search._enqueue import enqueue_from
from kwsauto.search._export import export_trial
from kwsauto.search._feasibility import ensure_space_can_fit
from kwsauto.search._leaderboard import best_feasible, leaderboard_rows, with_test_accuracy
from kwsauto.search._objective import METRICS, Objective, TrialListener
from kwsauto.search._pareto import write_pareto
from kwsauto.search._pruning import FamilyMedianPruner
from kwsauto.search._quiet_logs import quiet_failed_trial_logs
from kwsauto.search._records import CardCandidate, CardSelection, HardwareRecord, ModelCard, RunSettings
from kwsauto.search._reselect import candidates, refit, reselect
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
from kwsauto.training import Hardware, HardwareRequest, TrialConfig, evaluate, load_expert, resolve_hardware

__all__ = ["SearchSettings", "SearchResult", "run_search", "open_study", "SAMPLERS", "PRUNERS", "OBJECTIVES"]

_LOGGER = logging.getLogger(__name__)
SAMPLERS = ("tpe", "random", "nsga2")
PRUNERS = ("median", "hyperband", "none")
DEFAULT_TRIALS = 20
# Of a --time-limit, the share kept for the final export after the last trial (quantizing, TFLM verification)
FINISH_RESERVE_FRACTION = 0.1
FINISH_RESERVE_MAX_S = 120.0
# ... and the share kept for re-selecting the top trials over new seeds and refitting the chosen one
SELECTION_RESERVE_FRACTION = 0.25
REFIT_MARGIN = 1.25  # a refit trains on train+val: its time is estimated as the trial's, with this margin
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
    reselect: int = 3  # the top trials by validation retrained with new seeds before the final choice (0: none)
    reselect_seeds: int = 2  # new seeds per re-selected trial
    refit: bool = True  # the chosen configuration trained again on train+val before the export

    def __post_init__(self) -> None:
        for name, valid in (("sampler", SAMPLERS), ("pruner", PRUNERS), ("objective", OBJECTIVES), ("metric", METRICS)):
            check_choice(name, getattr(self, name), valid, field=name)
        if self.n_trials is not None and self.n_trials < 1:
            raise ConfigError(f"n_trials must be at least 1, but got {self.n_trials}.", field="n_trials")
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, but got {self.workers}.", field="workers")
        for name in ("reselect", "reselect_seeds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more, but got {getattr(self, name)}.", field=name)

    @property
    def selects(self) -> bool:
        """Whether the search ends with re-selection over seeds or a refit (never in a Pareto search)."""
        return self.objective == "accuracy" and ((self.reselect > 0 and self.reselect_seeds > 0) or self.refit)

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
        return FamilyMedianPruner(n_startup_trials=3, n_warmup_steps=3)
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
        reselect=settings.reselect,
        reselect_seeds=settings.reselect_seeds,
        refit=settings.refit,
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
        for warning in check_dataset(index, space.architecture_choices()[0].features.sample_rate_hz).warnings:
            _LOGGER.warning(warning)  # few validation/test speakers, audio below the model's rate: also in the card
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


def _export_deadline(settings: SearchSettings, started: float) -> float | None:
    """When re-selection and the refit must be done so that the final export still fits in ``--time-limit``."""
    if settings.time_limit_s is None:
        return None
    reserve = min(FINISH_RESERVE_MAX_S, FINISH_RESERVE_FRACTION * settings.time_limit_s)
    return started + settings.time_limit_s - reserve


def _trials_deadline(settings: SearchSettings, started: float) -> float | None:
    """When trials must stop so that re-selection, the refit and the final export still fit in ``--time-limit``."""
    end = _export_deadline(settings, started)
    if end is None or not settings.selects:
        return end
    return end - SELECTION_RESERVE_FRACTION * settings.time_limit_s


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
        card = _finish(prepared, _export_deadline(settings, started))
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


def _finish(prepared: _Prepared, deadline: float | None = None) -> ModelCard | None:
    """Choose the model to export (re-selection over seeds, refit on train+val, see :mod:`._reselect`) and export
    it into ``best/``; a card that already describes the same choice is kept."""
    study, run, objective, settings = prepared.study, prepared.run, prepared.objective, prepared.settings
    best = best_feasible(study)
    card = None
    if best is not None:
        tops = candidates(study, max(1, settings.reselect)) if settings.selects else [best]
        previous = run.read_card()
        if previous and _same_choice(previous, tops) and (run.best_dir / "model_int8.tflite").is_file():
            card = previous
        else:
            chosen, state, selection = best, None, None
            if settings.selects:
                chosen, state, selection = _select(prepared, tops, deadline)
            config = TrialConfig.from_dict(chosen.user_attrs["config"])
            card = export_trial(
                chosen, objective.features(config.features), objective.index, run, objective.device,
                settings.budget, prepared.record, state=state, selection=selection,
                progress=objective.listener.on_finish,
            )
    run.write_leaderboard(with_test_accuracy(leaderboard_rows(study), card))
    return card


def _same_choice(card: ModelCard, tops: list[optuna.trial.FrozenTrial]) -> bool:
    """``card`` was exported from the same candidates (a resumed search with no new trial keeps its export)."""
    if card.selection is None:
        return len(tops) == 1 and card.trial == tops[0].number
    return sorted(c.trial for c in card.selection.candidates) == sorted(t.number for t in tops)


def _select(
    prepared: _Prepared, tops: list[optuna.trial.FrozenTrial], deadline: float | None
) -> tuple[optuna.trial.FrozenTrial, dict[str, Any] | None, CardSelection]:
    """Retrain ``tops`` with new seeds, choose by the mean, refit the choice on train+val when time allows."""
    settings, objective = prepared.settings, prepared.objective
    trial_seconds = {t.number: float(t.user_attrs.get("seconds", 0.0)) for t in tops}
    refit_reserve = REFIT_MARGIN * max(trial_seconds.values()) if settings.refit else 0.0
    metric = None
    if settings.metric == "macro_f1":
        def metric(model, features):
            return evaluate(model, features, "val").macro_f1
    seeds = settings.reselect_seeds if settings.reselect > 0 else 0
    result = reselect(
        tops, objective.features, extra_seeds=seeds,
        deadline=None if deadline is None else deadline - refit_reserve, hooks=objective.hooks, metric=metric,
        hardware=objective.hardware, progress=objective.listener.on_finish,
    )
    notes = [f"{result.skipped} re-selection run(s) left out for the time limit"] if result.skipped else []
    chosen = next(t for t in tops if t.number == result.chosen.number)
    config = TrialConfig.from_dict(chosen.user_attrs["config"])
    state, refitted = None, False
    if settings.refit:
        needed = REFIT_MARGIN * trial_seconds[chosen.number]
        if deadline is None or time.monotonic() + needed <= deadline:
            objective.listener.on_finish(f"refitting trial {chosen.number} on train+val", 0, 1)
            model = refit(config, objective.features(config.features), result.chosen.epochs, hooks=objective.hooks,
                          hardware=objective.hardware)
            objective.listener.on_finish("refitting", 1, 1)
            state, refitted = model.state_dict(), True
            prepared.run.save_refit(chosen.number, state)
        else:
            notes.append("refit left out for the time limit")
    mean, spread, runs = result.estimate
    selection = CardSelection(
        chosen=chosen.number,
        candidates=tuple(CardCandidate(c.number, c.scores, c.mean, c.std) for c in result.candidates),
        val_estimate=mean, val_spread=spread, val_runs=runs, refit=refitted,
        refit_epochs=result.chosen.epochs if refitted else None, seconds=round(result.seconds, 2),
        note="; ".join(notes),
    )
    return chosen, state, selection


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
