"""The Pareto front of a ``--objective pareto`` study: accuracy against RAM and latency, feasible trials only."""

from __future__ import annotations

import csv
import io
from typing import Any

import optuna

from kwsauto._io import atomic_write, atomic_write_text
from kwsauto.search._leaderboard import trained_trials, trial_row
from kwsauto.search._run_folder import RunFolder

__all__ = ["pareto_rows", "write_pareto"]

_COLUMNS = ("number", "model", "val_accuracy", "ram_bytes", "latency_ms", "flash_bytes", "params")


def pareto_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """The non-dominated feasible trials, most accurate first."""
    front = [t for t in study.best_trials if t.user_attrs.get("feasible")]
    rows = [trial_row(t) for t in front]
    return sorted(rows, key=lambda r: -(r["val_accuracy"] or 0.0))


def write_pareto(study: optuna.Study, run: RunFolder) -> list[dict[str, Any]]:
    """Write ``pareto.csv`` and ``pareto.png`` (accuracy vs RAM, latency as colour) in the run folder."""
    rows = pareto_rows(study)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(run.path / "pareto.csv", buffer.getvalue())
    _plot(study, rows, run)
    return rows


def _plot(study: optuna.Study, front: list[dict[str, Any]], run: RunFolder) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trained = [trial_row(t) for t in trained_trials(study)]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    if trained:
        points = ax.scatter(
            [r["ram_bytes"] / 1024 for r in trained],
            [100 * (r["val_accuracy"] or 0) for r in trained],
            c=[r["latency_ms"] for r in trained],
            cmap="viridis",
            alpha=0.6,
            label="feasible trials",
        )
        fig.colorbar(points, ax=ax, label="latency (ms)")
    if front:
        ordered = sorted(front, key=lambda r: r["ram_bytes"])
        ax.plot([r["ram_bytes"] / 1024 for r in ordered], [100 * r["val_accuracy"] for r in ordered], "r-o", label="Pareto front")
    ax.set_xlabel("RAM (KB, TFLM arena + DSP)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title("Accuracy vs RAM")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    atomic_write(run.path / "pareto.png", lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight"))
    plt.close(fig)
