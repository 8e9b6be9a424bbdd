"""A pick that generalizes: re-select the best few trials over new seeds, then refit the chosen one on train+val.

The trial with the best validation score is partly the luckiest one: on a few hundred validation clips a seed's
noise is worth a point or two, and the search picks the maximum of that noise. Before the final choice the top
candidates by validation are retrained with other seeds and ranked by their mean; the chosen configuration is then
trained once more on the training and validation clips together, for the epochs it needed (no early stopping: there
is no held-out split left to watch), so that the exported model has seen every speaker but the test ones.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna
import torch
from optuna.trial import FrozenTrial, TrialState

from kwsauto.features import FeatureConfig, FeatureSet, SplitTensors
from kwsauto.models import KwsNet
from kwsauto.training import ExpertHooks, Hardware, TrialConfig, fit

__all__ = ["Candidate", "Reselection", "candidates", "reselect", "refit", "merged_train_val", "SEED_STRIDE"]

SEED_STRIDE = 1000  # re-selection seeds: the trial's seed + 1000, + 2000, ... (never a seed a trial used)


@dataclass(frozen=True)
class Candidate:
    """One top trial: its own validation score first, then one per retraining seed."""

    number: int
    scores: tuple[float, ...]
    epochs: int  # the epochs its first run trained up to its best epoch (what a refit trains)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores)

    @property
    def std(self) -> float:
        return statistics.stdev(self.scores) if len(self.scores) > 1 else 0.0

    @property
    def retrained(self) -> tuple[float, ...]:
        """The scores of the new seeds only: the search's own run was picked as a maximum, so it flatters."""
        return self.scores[1:]


@dataclass(frozen=True)
class Reselection:
    """The candidates as retrained, and the one chosen by mean validation score (ties: the earlier trial)."""

    candidates: tuple[Candidate, ...]
    seconds: float
    skipped: int = 0  # retrainings left out because they would not have fitted before the deadline

    @property
    def chosen(self) -> Candidate:
        return max(self.candidates, key=lambda c: (c.mean, -c.number))

    @property
    def estimate(self) -> tuple[float, float, int]:
        """The chosen configuration's validation estimate: mean, standard deviation and number of runs, over its
        retrained runs (its search run alone when none could be retrained)."""
        runs = self.chosen.retrained or self.chosen.scores
        spread = statistics.stdev(runs) if len(runs) > 1 else 0.0
        return statistics.fmean(runs), spread, len(runs)


def candidates(study: optuna.Study, top: int) -> list[FrozenTrial]:
    """The ``top`` completed feasible trials by validation score, one per distinct configuration."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.user_attrs.get("feasible") and t.values]
    done.sort(key=lambda t: (-t.values[0], t.number))
    chosen: list[FrozenTrial] = []
    seen: set[str] = set()
    for trial in done:
        key = repr(sorted(trial.params.items()))
        if key not in seen:
            seen.add(key)
            chosen.append(trial)
    return chosen[:top]


def _with_seed(config: TrialConfig, seed: int) -> TrialConfig:
    return dataclasses.replace(config, train=dataclasses.replace(config.train, seed=seed))


def _epochs_of(trial: FrozenTrial, config: TrialConfig) -> int:
    return int(trial.user_attrs.get("best_epoch", config.train.epochs - 1)) + 1


def reselect(
    trials: list[FrozenTrial],
    features_of: Callable[[FeatureConfig], FeatureSet],
    *,
    extra_seeds: int = 2,
    deadline: float | None = None,
    hooks: ExpertHooks | None = None,
    metric: Callable[[KwsNet, FeatureSet], float] | None = None,
    hardware: Hardware | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Reselection:
    """Retrain each of ``trials`` with ``extra_seeds`` new seeds while ``deadline`` (``time.monotonic()``) allows.

    ``features_of(FeatureConfig) -> FeatureSet``; ``metric(model, features) -> float`` scores a retrained model as
    the search scored its trials (default: best-epoch validation accuracy). A retraining starts only if the
    trial's own training time still fits before the deadline; a trial that could not be retrained keeps its single
    score. Seeds go round the candidates (each candidate's second seed only after every first one), so a short
    deadline still compares them all. ``progress(stage, done, total)`` sees each retraining start.
    """
    started = time.monotonic()
    configs = [TrialConfig.from_dict(t.user_attrs["config"]) for t in trials]
    scores = [[float(t.values[0])] for t in trials]
    total, done, skipped = len(trials) * extra_seeds, 0, 0
    for k in range(1, extra_seeds + 1):
        for i, trial in enumerate(trials):
            needed = float(trial.user_attrs.get("seconds", 0.0))
            if deadline is not None and time.monotonic() + needed > deadline:
                skipped += 1
                continue
            if progress is not None:
                progress(f"re-selecting: trial {trial.number}, seed {k}", done, total)
            features = features_of(configs[i].features)
            run = fit(features, _with_seed(configs[i], configs[i].train.seed + k * SEED_STRIDE), hooks=hooks,
                      hardware=hardware)
            scores[i].append(run.val_accuracy if metric is None else metric(run.model, features))
            done += 1
    if progress is not None:
        progress("re-selecting", total, total)
    result = tuple(Candidate(t.number, tuple(s), _epochs_of(t, c)) for t, s, c in zip(trials, scores, configs))
    return Reselection(result, time.monotonic() - started, skipped)


def merged_train_val(features: FeatureSet) -> FeatureSet:
    """``features`` with the validation clips added to the training split (the validation split is kept as it is,
    so code that reads it still runs; nothing must be chosen on it any more)."""
    train, val = features["train"], features["val"]
    merged = SplitTensors(
        torch.cat([train.features, val.features]), torch.cat([train.waves, val.waves]),
        torch.cat([train.labels, val.labels]),
    )
    return dataclasses.replace(features, splits={**features.splits, "train": merged})


def refit(
    config: TrialConfig, features: FeatureSet, epochs: int, *, hooks: ExpertHooks | None = None,
    hardware: Hardware | None = None,
) -> KwsNet:
    """Train ``config`` on train+val for ``epochs`` epochs (no early stopping) and return the last epoch's model."""
    train = dataclasses.replace(config.train, epochs=max(1, epochs), early_stopping_patience=0)
    return fit(merged_train_val(features), dataclasses.replace(config, train=train), hooks=hooks,
               restore_best=False, hardware=hardware).model
