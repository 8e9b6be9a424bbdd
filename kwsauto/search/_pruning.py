"""Pruning within a family: a trial is compared with trials of its own architecture and start, not with all.

Optuna's median pruner compares a trial's validation accuracy at epoch *k* with every earlier trial's at *k*. In a
space with several families that stops the slow starters: a pretrained MobileNet whose backbone is still frozen,
or a wide DS-CNN in its warm-up, scores below the small DS-CNNs that learn fast and is pruned before it could catch
up, so the search collapses onto the first family that did well. Here a trial's family is its architecture and
whether it starts from a pretrained backbone; the median is taken over that family only (no pruning until the
family has ``n_startup_trials`` finished trials), and a fine-tuned trial is not pruned during its frozen epochs
plus ``n_warmup_steps``.
"""

from __future__ import annotations

import math
import statistics

import optuna
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial, TrialState

__all__ = ["FamilyMedianPruner", "family_of"]


def family_of(trial: FrozenTrial) -> tuple[str, bool]:
    """``(architecture, pretrained)`` of a trial, from its sampled parameters (or its config, for enqueued ones)."""
    params = trial.params
    arch = params.get("model.arch")
    pretrained = params.get("model.pretrained")
    config = trial.user_attrs.get("config") or {}
    model = config.get("model", {}) if isinstance(config, dict) else {}
    if arch is None:
        arch = model.get("arch", "?")
    if pretrained is None:
        pretrained = model.get("pretrained", False)
    return str(arch), bool(pretrained)


def _frozen_epochs(trial: FrozenTrial) -> int:
    config = trial.user_attrs.get("config") or {}
    train = config.get("train", {}) if isinstance(config, dict) else {}
    return int(trial.params.get("train.freeze_epochs", train.get("freeze_epochs", 0)) or 0)


class FamilyMedianPruner(BasePruner):
    """Prune a trial whose best validation score so far is below the median, at the same epoch, of the finished
    trials of its own family (see the module's docstring)."""

    def __init__(self, n_startup_trials: int = 3, n_warmup_steps: int = 3) -> None:
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        family = family_of(trial)
        warmup = self.n_warmup_steps + (_frozen_epochs(trial) if family[1] else 0)
        if step < warmup:
            return False
        finished = [
            t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.number != trial.number and family_of(t) == family and t.intermediate_values
        ]
        if len(finished) < self.n_startup_trials:
            return False
        at_step = [t.intermediate_values[step] for t in finished if step in t.intermediate_values]
        at_step = [v for v in at_step if not math.isnan(v)]
        if not at_step:
            return False
        best_so_far = max((v for s, v in trial.intermediate_values.items() if s <= step and not math.isnan(v)),
                          default=None)
        if best_so_far is None:
            return True
        return best_so_far < statistics.median(at_step)
