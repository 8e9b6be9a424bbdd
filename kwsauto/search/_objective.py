"""The objective of one trial: sample a config, reject it before training if it cannot fit, else train it.

Single-objective studies maximize the validation metric (accuracy or macro-F1) and prune by each epoch's
validation accuracy; Pareto studies maximize the metric while minimizing RAM and latency.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from kwsauto.data import ClipIndex
from kwsauto.device import Budget, DeviceProfile, Footprint, Violation
from kwsauto.features import FeatureConfig, FeatureSet, compute_features
from kwsauto.search._feasibility import check_trial
from kwsauto.search._run_folder import RunFolder
from kwsauto.search._space import SearchSpace
from kwsauto.training import ExpertHooks, Hardware, TrainResult, TrialConfig, evaluate, fit, resolve_hardware

__all__ = ["Objective", "TrialListener", "METRICS", "PARETO_COSTS"]

_LOGGER = logging.getLogger(__name__)
METRICS = ("accuracy", "macro_f1")
PARETO_COSTS = ("ram_bytes", "latency_ms")  # minimized beside the metric in --objective pareto


class TrialListener:
    """What a front end may watch. Every method is optional; the default does nothing."""

    def on_trial_start(self, number: int, config: TrialConfig, footprint: Footprint) -> None: ...

    def on_infeasible(self, number: int, config: TrialConfig, violations: list[Violation]) -> None: ...

    def on_epoch(self, number: int, epoch: int, max_epochs: int, metrics: dict[str, float]) -> None: ...

    def on_trial_end(self, number: int, result: TrainResult | None, error: str | None) -> None: ...

    def on_data(self, stage: str, done: int, total: int) -> None:
        """Decoding clips or computing features that were not cached yet: ``done`` of ``total`` clips."""

    def on_finish(self, stage: str, done: int, total: int) -> None:
        """After the trials: re-selection runs, the refit and the export steps, ``done`` of ``total``."""


@dataclass
class Objective:
    space: SearchSpace
    index: ClipIndex
    device: DeviceProfile
    budget: Budget
    run: RunFolder
    hooks: ExpertHooks
    listener: TrialListener
    deadline: float | None = None  # time.monotonic() by which training must stop
    cache_dir: Path | None = None
    metric: str = "accuracy"
    pareto: bool = False
    prune: bool = True
    weights_in_storage: bool = False  # distributed: other machines must be able to export this trial
    precheck: bool = True  # False trains infeasible models too (only to measure what the pre-check saves)
    hardware: Hardware = field(default_factory=resolve_hardware)  # this process' device: features and training

    def __post_init__(self) -> None:
        self._features: dict[FeatureConfig, FeatureSet] = {}

    def features(self, config: FeatureConfig) -> FeatureSet:
        if config not in self._features:
            self._features = {
                config: compute_features(
                    self.index, config, cache_dir=self.cache_dir, device=self.hardware.device,
                    progress=self.listener.on_data,
                )
            }
        return self._features[config]

    def _values(self, score: float, footprint: Footprint) -> float | tuple[float, ...]:
        return (score, *(float(getattr(footprint, c)) for c in PARETO_COSTS)) if self.pareto else score

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        started = time.perf_counter()
        config = self.space.sample(trial)
        footprint, violations = check_trial(config, self.index.labels, self.device, self.budget)
        for name, allowed in self.budget.limits(self.device).items():
            trial.set_constraint(name, getattr(footprint, name) / allowed - 1.0)
        trial.set_user_attr("footprint", footprint.to_dict())
        trial.set_user_attr("config", config.to_dict())
        trial.set_user_attr("feasible", not violations)
        if violations and not self.precheck:
            self._train_anyway(trial, config, footprint)
        if violations:
            worst = max(violations, key=lambda v: v.excess)
            trial.set_user_attr("failed_limit", worst.limit)
            trial.set_user_attr("violations", [v.describe() for v in violations])
            trial.set_user_attr("seconds", time.perf_counter() - started)
            self.listener.on_infeasible(trial.number, config, violations)
            return self._values(0.0, footprint)  # rejected before training: the sampler learns the region is worthless

        return self._train(trial, config, footprint, started)

    def _train_anyway(self, trial: optuna.Trial, config: TrialConfig, footprint: Footprint) -> None:
        """Without the pre-check, an infeasible model is trained before it is found out (the time is wasted)."""
        started = time.perf_counter()
        fit(self.features(config.features), config, hooks=self.hooks, callbacks=self._deadline_callbacks(),
            hardware=self.hardware)
        trial.set_user_attr("wasted_seconds", time.perf_counter() - started)

    def _deadline_callbacks(self) -> list[Any]:
        if self.deadline is None:
            return []
        from kwsauto.training import Deadline

        return [Deadline(self.deadline)]

    def _train(self, trial: optuna.Trial, config: TrialConfig, footprint: Footprint, started: float):
        trial.set_user_attr("hardware", self.hardware.to_dict())  # where it ran: the leaderboard's "device"
        self.listener.on_trial_start(trial.number, config, footprint)

        def on_epoch(epoch: int, max_epochs: int, metrics: dict[str, float]) -> None:
            if "val_acc" in metrics:
                trial.set_user_attr("last_val_accuracy", metrics["val_acc"])
                trial.set_user_attr("last_epoch", epoch + 1)
            self.listener.on_epoch(trial.number, epoch, max_epochs, metrics)

        callbacks = self._deadline_callbacks()
        deadline = callbacks[0] if callbacks else None
        if self.prune and not self.pareto:
            from optuna_integration import PyTorchLightningPruningCallback

            callbacks.append(PyTorchLightningPruningCallback(trial, monitor="val_acc"))
        features = self.features(config.features)
        try:
            result = fit(features, config, hooks=self.hooks, listener=on_epoch, callbacks=callbacks, hardware=self.hardware)
        except optuna.TrialPruned:
            trial.set_user_attr("seconds", time.perf_counter() - started)
            self.listener.on_trial_end(trial.number, None, "pruned")
            raise
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
            trial.set_user_attr("seconds", time.perf_counter() - started)
            self.listener.on_trial_end(trial.number, None, f"{type(exc).__name__}: {exc}")
            raise
        if deadline is not None and deadline.fired:
            # cut by the time limit mid-training: kept as pruned with its last accuracy, never taken for complete
            trial.set_user_attr("cut", True)
            trial.set_user_attr("seconds", time.perf_counter() - started)
            self.listener.on_trial_end(trial.number, None, "cut")
            raise optuna.TrialPruned("stopped by the time limit")
        self.run.save_trial(trial.number, result.model, config.to_dict())
        if self.weights_in_storage:
            self.run.store_weights_in(trial, result.model)
        score = result.val_accuracy if self.metric == "accuracy" else evaluate(result.model, features, "val").macro_f1
        trial.set_user_attr("val_accuracy", result.val_accuracy)
        trial.set_user_attr("epochs_run", result.epochs_run)
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("seconds", time.perf_counter() - started)
        self.listener.on_trial_end(trial.number, result, None)
        return self._values(score, footprint)
