"""Leaderboard rows from a study: every trial, with its state, accuracy, footprint and why it failed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from kwsauto.errors import ConfigError, did_you_mean
from kwsauto.search._records import ModelCard, TrialRecord
from kwsauto.training import TrialConfig

__all__ = [
    "SORT_KEYS",
    "best_feasible",
    "leaderboard_rows",
    "sort_rows",
    "trained_trials",
    "trial_row",
    "with_test_accuracy",
]

SORT_KEYS = ("val_accuracy", "test_accuracy", "ram_bytes", "flash_bytes", "latency_ms", "number", "seconds")


def trial_row(trial: FrozenTrial) -> dict[str, Any]:
    r = TrialRecord.of(trial)
    trained = r.trained
    return {
        "number": r.number,
        "state": r.state,
        "model": _model_label(r.config),
        "val_accuracy": (r.val_accuracy if r.val_accuracy is not None else (r.values[0] if r.values else None))
        if trained else r.last_val_accuracy,
        "objective": r.values[0] if trained and r.values else None,
        "test_accuracy": r.test_accuracy,
        "feasible": r.feasible,
        "failed_limit": r.failed_limit,
        "violations": list(r.violations),
        "ram_bytes": r.footprint.get("ram_bytes"),
        "flash_bytes": r.footprint.get("flash_bytes"),
        "latency_ms": r.footprint.get("latency_ms"),
        "macs": r.footprint.get("macs"),
        "params_count": r.footprint.get("params"),
        "seconds": round(r.seconds, 2) if r.seconds is not None else None,
        "epochs_run": r.epochs_run,
        "error": r.error,
        "device": r.hardware.device if r.hardware else None,  # where it trained: cpu, cuda:1, mps
        "params": trial.params,
    }


def _model_label(config: TrialConfig | None) -> str | None:
    """``mobilenetv1_025 50x40 pt``: the backbone, the input it sees, and ``pt`` when it started pretrained."""
    if config is None:
        return None
    pretrained = " pt" if config.model.pretrained else ""
    return f"{config.model.name} {config.features.n_frames}x{config.features.n_features}{pretrained}"


def leaderboard_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """All trials, best first: trained feasible trials by validation accuracy, then the rest by number."""
    rows = [trial_row(t) for t in study.get_trials(deepcopy=False)]
    return sorted(rows, key=lambda r: (r["state"] != "complete", -(r["objective"] or r["val_accuracy"] or 0.0), r["number"]))


def sort_rows(rows: Sequence[dict[str, Any]], key: str = "val_accuracy", feasible_only: bool = False) -> list[dict[str, Any]]:
    """Rows sorted by ``key`` (one of :data:`SORT_KEYS`; accuracies descending, costs ascending), missing values last;
    ``feasible_only`` keeps the trained trials that fit the budget."""
    if key not in SORT_KEYS:
        raise ConfigError(
            f"sort {key!r} is not a sort key{did_you_mean(key, SORT_KEYS)}; valid: {', '.join(SORT_KEYS)}.", field="sort"
        )
    rows = [r for r in rows if not feasible_only or (r.get("feasible") and r.get("state") == "complete")]
    descending = key in ("val_accuracy", "test_accuracy")

    def sort_key(row: dict[str, Any]) -> tuple:
        value = row.get(key)
        if value is None:
            return (1, 0.0, row["number"])
        return (0, -value if descending else value, row["number"])

    return sorted(rows, key=sort_key)


def with_test_accuracy(rows: list[dict[str, Any]], card: ModelCard | None) -> list[dict[str, Any]]:
    """Leaderboard rows with the chosen model's test accuracies (float and int8) from its card."""
    if card is not None:
        for row in rows:
            if row["number"] == card.trial:
                row["test_accuracy"] = card.metrics.test_accuracy
                row["test_accuracy_int8"] = card.metrics.test_accuracy_int8
    return rows


def best_feasible(study: optuna.Study) -> FrozenTrial | None:
    """The completed, feasible trial with the best validation metric (ties: the earlier trial).

    In a Pareto study that is the most accurate feasible trial; the front itself is in ``pareto.csv``.
    """
    return max(trained_trials(study), key=lambda t: (t.values[0], -t.number), default=None)


def trained_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The trials that trained to the end within the budget (they have weights and a validation metric)."""
    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get("feasible") and t.values
    ]
