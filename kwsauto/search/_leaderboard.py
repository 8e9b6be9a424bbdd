"""Leaderboard rows from a study: every trial, with its state, accuracy, footprint and why it failed."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from kwsauto.features import FeatureConfig
from kwsauto.models import registry_name

__all__ = ["trial_row", "leaderboard_rows", "best_feasible", "SORT_KEYS"]

SORT_KEYS = ("val_accuracy", "test_accuracy", "ram_bytes", "flash_bytes", "latency_ms", "number", "seconds")


def trial_row(trial: FrozenTrial) -> dict[str, Any]:
    attrs = trial.user_attrs
    footprint = attrs.get("footprint", {})
    feasible = attrs.get("feasible")
    state = trial.state.name.lower()
    if trial.state == TrialState.COMPLETE and feasible is False:
        state = "infeasible"
    elif trial.state == TrialState.FAIL and not attrs.get("error"):
        state = "failed"
    elif trial.state == TrialState.PRUNED and attrs.get("cut"):
        state = "cut"  # stopped by the time limit before it finished: never chosen, never listed as complete
    trained = trial.state == TrialState.COMPLETE and feasible
    values = trial.values or []
    return {
        "number": trial.number,
        "state": state,
        "model": _model_label(attrs.get("config")),
        "val_accuracy": attrs.get("val_accuracy", values[0] if values else None) if trained else attrs.get("last_val_accuracy"),
        "objective": values[0] if trained and values else None,
        "test_accuracy": attrs.get("test_accuracy"),
        "feasible": feasible,
        "failed_limit": attrs.get("failed_limit"),
        "violations": attrs.get("violations", []),
        "ram_bytes": footprint.get("ram_bytes"),
        "flash_bytes": footprint.get("flash_bytes"),
        "latency_ms": footprint.get("latency_ms"),
        "macs": footprint.get("macs"),
        "params_count": footprint.get("params"),
        "seconds": round(attrs["seconds"], 2) if "seconds" in attrs else None,
        "epochs_run": attrs.get("epochs_run", attrs.get("last_epoch")),
        "error": attrs.get("error"),
        "params": trial.params,
    }


def _model_label(config: dict[str, Any] | None) -> str | None:
    """``mobilenetv1_025 50x40 pt``: the backbone, the input it sees, and ``pt`` when it started pretrained."""
    if not config:
        return None
    features = FeatureConfig.from_dict(config["features"])
    pretrained = " pt" if config["model"].get("pretrained") else ""
    return (
        f"{registry_name(config['model']['arch'], config['model']['width'])} "
        f"{features.n_frames}x{features.n_features}{pretrained}"
    )


def leaderboard_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """All trials, best first: trained feasible trials by validation accuracy, then the rest by number."""
    rows = [trial_row(t) for t in study.get_trials(deepcopy=False)]
    return sorted(rows, key=lambda r: (r["state"] != "complete", -(r["objective"] or r["val_accuracy"] or 0.0), r["number"]))


def best_feasible(study: optuna.Study) -> FrozenTrial | None:
    """The completed, feasible trial with the best validation metric (ties: the earlier trial).

    In a Pareto study that is the most accurate feasible trial; the front itself is in ``pareto.csv``.
    """
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get("feasible") and t.values
    ]
    return max(done, key=lambda t: (t.values[0], -t.number), default=None)
