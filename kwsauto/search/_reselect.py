"""A pick that generalizes: re-select the best few trials over new seeds, then refit the chosen one on train+val.

The trial with the best validation score is partly the luckiest one: on a few hundred validation clips a seed's
noise is worth a point or two, and the search picks the maximum of that noise. Before the final choice the top
candidates by validation are retrained with other seeds and ranked by their mean; the chosen configuration is then
trained once more on the training and validation clips together, for the epochs it needed (no early stopping: there
is no held-out split left to watch), so that the exported model has seen every speaker but the test ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
import statistics
import time
from dataclasses import dataclass

import optuna
import torch
from optuna.trial import FrozenTrial, TrialState

from kwsauto.features import FeatureSet, SplitTensors
from kwsauto.models import KwsNet
from kwsauto.training import ExpertHooks, TrialConfig, fit

__all__ = ["Candidate", "Reselection", "candidates", "reselect", "refit", "merged_train_val"]

SEED_STRIDE = 1000  # re-selection seeds: the trial's seed + 1000, + 2000, ... (never a seed a trial used)


@dataclass(frozen=True)
class Candidate:
    """One top trial: its own validation score first, then one per retraining seed."""

    number: int
    scores: tuple[float, ...]
    epochs: int  # the epochs its first run trained before its best epoch (what a refit trains)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores)

    @property
    def std(self) -> float:
        return statistics.stdev(self.scores) if len(self.scores) > 1 else 0.0


@dataclass(frozen=True)
class Reselection:
    """The candidates as retrained, and the one chosen by mean validation score (ties: the earlier trial)."""

    candidates: tuple[Candidate, ...]
    seconds: float

    @property
    def chosen(self) -> Candidate:
        return max(self.candidates, key=lambda c: (c.mean, -c.number))

    def to_dict(self) -> dict:
        return {
            "chosen": self.chosen.number,
            "seconds": round(self.seconds, 2),
            "candidates": [dataclasses.asdict(c) | {"mean": c.mean, "std": c.std} for c in self.candidates],
        }


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


def reselect(
    trials: list[FrozenTrial],
    features_of: Callable[..., FeatureSet],
    *,
    extra_seeds: int = 1,
    deadline: float | None = None,
    hooks: ExpertHooks | None = None,
    metric: Callable[..., float] | None = None,
) -> Reselection:
    """Retrain each of ``trials`` with ``extra_seeds`` new seeds while ``deadline`` (``time.monotonic()``) allows.

    ``features_of(FeatureConfig) -> FeatureSet``; ``metric(model, features) -> float`` scores a retrained model as
    the search scored its trials (default: best-epoch validation accuracy). A trial is retrained only if its own
    training time still fits before the deadline; one that does not keeps its single score.
    """
    started = time.monotonic()
    result = []
    for trial in trials:
        config = TrialConfig.from_dict(trial.user_attrs["config"])
        scores = [float(trial.values[0])]
        for k in range(1, extra_seeds + 1):
            needed = float(trial.user_attrs.get("seconds", 0.0))
            if deadline is not None and time.monotonic() + needed > deadline:
                break
            features = features_of(config.features)
            run = fit(features, _with_seed(config, config.train.seed + k * SEED_STRIDE), hooks=hooks)
            scores.append(run.val_accuracy if metric is None else metric(run.model, features))
        epochs = int(trial.user_attrs.get("best_epoch", config.train.epochs - 1)) + 1
        result.append(Candidate(trial.number, tuple(scores), epochs))
    return Reselection(tuple(result), time.monotonic() - started)


def merged_train_val(features: FeatureSet) -> FeatureSet:
    """``features`` with the validation clips added to the training split (the validation split is kept as it is,
    so code that reads it still runs; nothing must be chosen on it any more)."""
    train, val = features["train"], features["val"]
    merged = SplitTensors(
        torch.cat([train.features, val.features]), torch.cat([train.waves, val.waves]),
        torch.cat([train.labels, val.labels]),
    )
    return dataclasses.replace(features, splits={**features.splits, "train": merged})


def refit(config: TrialConfig, features: FeatureSet, epochs: int, *, hooks: ExpertHooks | None = None) -> KwsNet:
    """Train ``config`` on train+val for ``epochs`` epochs and return the last epoch's model."""
    epochs = max(1, epochs)
    train = dataclasses.replace(config.train, epochs=epochs, early_stopping_patience=0)
    return fit(merged_train_val(features), dataclasses.replace(config, train=train), hooks=hooks,
               restore_best=False).model
