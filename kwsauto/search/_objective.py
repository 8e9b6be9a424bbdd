"""The objective of one trial: sample a config, reject it before training if it cannot fit, else train it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from kwsauto.data import ClipIndex
from kwsauto.device import Budget, DeviceProfile, Footprint, Violation
from kwsauto.features import FeatureConfig, FeatureSet, compute_features
from kwsauto.search._feasibility import check_trial
from kwsauto.search._run_folder import RunFolder
from kwsauto.search._space import SearchSpace
from kwsauto.training import EpochListener, ExpertHooks, TrainResult, TrialConfig, fit

__all__ = ["Objective", "TrialListener"]

_LOGGER = logging.getLogger(__name__)


class TrialListener:
    """What a front end may watch. Every method is optional; the default does nothing."""

    def on_trial_start(self, number: int, config: TrialConfig, footprint: Footprint) -> None: ...

    def on_infeasible(self, number: int, config: TrialConfig, violations: list[Violation]) -> None: ...

    def on_epoch(self, number: int, epoch: int, max_epochs: int, metrics: dict[str, float]) -> None: ...

    def on_trial_end(self, number: int, result: TrainResult | None, error: str | None) -> None: ...


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
    cache_dir: Any = None
    extra_callbacks: Callable[[optuna.Trial], list] | None = None

    def __post_init__(self) -> None:
        self._features: dict[FeatureConfig, FeatureSet] = {}

    def features(self, config: FeatureConfig) -> FeatureSet:
        if config not in self._features:
            self._features = {config: compute_features(self.index, config, cache_dir=self.cache_dir)}
        return self._features[config]

    def __call__(self, trial: optuna.Trial) -> float:
        started = time.perf_counter()
        config = self.space.sample(trial)
        footprint, violations = check_trial(config, len(self.index.labels), self.device, self.budget)
        limits = self.budget.limits(self.device)
        for name, allowed in limits.items():
            trial.set_constraint(name, getattr(footprint, name) / allowed - 1.0)
        trial.set_user_attr("footprint", footprint.to_dict())
        trial.set_user_attr("config", config.to_dict())
        trial.set_user_attr("feasible", not violations)
        if violations:
            worst = max(violations, key=lambda v: v.excess)
            trial.set_user_attr("failed_limit", worst.limit)
            trial.set_user_attr("violations", [v.describe() for v in violations])
            trial.set_user_attr("seconds", time.perf_counter() - started)
            self.listener.on_infeasible(trial.number, config, violations)
            return 0.0  # rejected before training: the sampler learns the region is worthless

        self.listener.on_trial_start(trial.number, config, footprint)

        def on_epoch(epoch: int, max_epochs: int, metrics: dict[str, float]) -> None:
            self.listener.on_epoch(trial.number, epoch, max_epochs, metrics)

        listener: EpochListener = on_epoch
        callbacks = self.extra_callbacks(trial) if self.extra_callbacks else []
        if self.deadline is not None:
            from kwsauto.training import Deadline

            callbacks.append(Deadline(self.deadline))
        try:
            result = fit(self.features(config.features), config, hooks=self.hooks, listener=listener, callbacks=callbacks)
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            trial.set_user_attr("seconds", time.perf_counter() - started)
            self.listener.on_trial_end(trial.number, None, f"{type(exc).__name__}: {exc}")
            raise
        self.run.save_trial(trial.number, result.model, config.to_dict())
        trial.set_user_attr("epochs_run", result.epochs_run)
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("seconds", time.perf_counter() - started)
        self.listener.on_trial_end(trial.number, result, None)
        return result.val_accuracy
