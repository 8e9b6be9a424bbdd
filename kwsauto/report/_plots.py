"""PNG plots of a search: confusion matrix, optimization history, parameter importances, accuracy vs RAM.

Everything renders with matplotlib's Agg backend (no display needed). Our own plots draw on a bare
``Figure``, so they touch no global pyplot state; Optuna's ``visualization.matplotlib`` plots need pyplot,
which is switched to Agg only when nothing imported it before (a notebook keeps its backend).
Optuna's plots see validation accuracy; a trial over budget was never trained, so the history greys it out (as
Optuna does with a constraint it breaks) and the importances leave it out.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kwsauto._io import atomic_write
from kwsauto.errors import KwsautoError
from kwsauto.search import Run, TrialRecord, trained_trials

__all__ = [
    "RunPlots",
    "plot_accuracy_vs_ram",
    "plot_calibration",
    "plot_confusion",
    "plot_optimization_history",
    "plot_param_importances",
    "write_run_plots",
]

_LOGGER = logging.getLogger(__name__)
_DPI = 110


@dataclass(frozen=True)
class RunPlots:
    """The plots written (name → PNG path) and those skipped (name → why)."""

    files: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")


def _save(fig: Any, path: Path) -> Path:
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    return Path(path)


def plot_confusion(
    labels: Sequence[str], confusion: Sequence[Sequence[int]], path: Path, *, title: str = "Confusion matrix"
) -> Path:
    """Counts per (true, predicted) class; the colour is the share of the true class, so rare classes show too."""
    import numpy as np

    counts = np.asarray(confusion, dtype=float)
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    n = len(labels)
    fig = _figure(max(3.5, 0.6 * n + 2), max(3.0, 0.55 * n + 1.6))
    ax = fig.add_subplot()
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                f"{int(counts[i, j])}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return _save(fig, path)


def plot_calibration(result: Any, path: Path) -> Path:
    """``calibration.png``: FRR against FAR/h of every setting of a calibration's validation sweep, the target
    line, the chosen setting on the validation stream and on the test stream (a ``CalibrationResult``)."""
    fig = _figure(6.4, 4.6)
    ax = fig.add_subplot()
    far = [max(r.score.far_per_hour, 0.05) for r in result.rows]  # log axis: no false activation drawn at 0.05
    ax.scatter(far, [100 * r.score.frr for r in result.rows], s=12, color="tab:blue", alpha=0.5,
               label="settings (validation)")
    ax.axvline(result.target_far_per_hour, color="tab:red", linestyle="--",
               label=f"target {result.target_far_per_hour:g} FA/h")
    for score, marker, color, name in ((result.validation, "*", "gold", "chosen (validation)"),
                                       (result.test, "D", "tab:green", "chosen (test)")):
        ax.scatter([max(score.far_per_hour, 0.05)], [100 * score.frr], marker=marker, s=160, color=color,
                   edgecolors="black", label=name, zorder=4)
    s = result.settings
    ax.set_xscale("log")
    ax.set_xlabel("false activations per hour (FAR/h; 0 drawn at 0.05)")
    ax.set_ylabel("false rejection rate (FRR, %)")
    ax.set_title(f"Calibration: average {s.average_ms} ms, threshold {s.threshold:g}, suppression {s.suppression_ms} ms")
    ax.grid(alpha=0.3, which="both")
    fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    return _save(fig, path)


def plot_accuracy_vs_ram(
    rows: Sequence[dict[str, Any]],
    path: Path,
    *,
    ram_limit_bytes: float | None = None,
    chosen: int | None = None,
) -> Path:
    """Validation accuracy against RAM for every trained trial, infeasible trials on the axis, the budget line."""
    trained = [
        r
        for r in rows
        if r.get("state") == "complete" and r.get("val_accuracy") is not None and r.get("ram_bytes")
    ]
    untrained = [r for r in rows if r.get("state") == "infeasible" and r.get("ram_bytes")]
    if not trained and not untrained:
        raise KwsautoError("no trial has a footprint yet; run the search first")
    fig = _figure(6.4, 4.6)
    ax = fig.add_subplot()
    if trained:
        ax.scatter(
            [r["ram_bytes"] / 1024 for r in trained],
            [100 * r["val_accuracy"] for r in trained],
            color="tab:blue",
            label="trained (fits)",
            zorder=3,
        )
    if untrained:
        ax.scatter(
            [r["ram_bytes"] / 1024 for r in untrained],
            [0.0] * len(untrained),
            marker="x",
            color="tab:gray",
            label="over budget (not trained)",
            zorder=2,
        )
    if ram_limit_bytes:
        ax.axvline(
            ram_limit_bytes / 1024,
            color="tab:red",
            linestyle="--",
            label=f"RAM budget {ram_limit_bytes / 1024:.0f} KB",
        )
    best = next((r for r in trained if r["number"] == chosen), None)
    if best is not None:
        x, y = best["ram_bytes"] / 1024, 100 * best["val_accuracy"]
        ax.scatter(
            [x],
            [y],
            marker="*",
            s=260,
            color="gold",
            edgecolors="black",
            label=f"chosen: trial {chosen}",
            zorder=4,
        )
    ax.set_xlabel("RAM (KB, arena + DSP)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(-5, 105)
    ax.set_title("Accuracy vs RAM")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    return _save(fig, path)


def _accuracy_study(study: Any, *, feasible_only: bool) -> Any:
    """An in-memory, single-objective copy of ``study``: validation accuracy, over-budget trials as infeasible.

    With ``feasible_only`` it holds only the trained trials that fit; otherwise every trial, in order, so the
    trial numbers stay those of the run (unfinished ones as failed, which Optuna's plots leave out).
    """
    import optuna
    from optuna.trial import TrialState, create_trial

    trained = trained_trials(study)
    if len(trained) < 2:
        raise KwsautoError(f"{len(trained)} trained trial(s) that fit the budget; the plot needs at least 2")
    copy = optuna.create_study(direction="maximize")
    for t in trained if feasible_only else study.get_trials(deepcopy=False):
        common = {"params": t.params, "distributions": t.distributions, "user_attrs": t.user_attrs}
        if t.state == TrialState.COMPLETE and t.values:
            fits = bool(TrialRecord.of(t).feasible)
            copy.add_trial(
                create_trial(
                    value=t.values[0] if fits else 0.0, constraints={"budget": 0.0 if fits else 1.0}, **common
                )
            )
        else:
            copy.add_trial(create_trial(state=TrialState.FAIL, **common))
    return copy


def _pyplot() -> Any:
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_axes(ax: Any, path: Path, title: str) -> Path:
    fig = ax.figure
    try:
        for loc in ("left", "right"):
            ax.set_title("", loc=loc)
        ax.set_title(title)
        fig.set_size_inches(7.0, 4.0)
        fig.set_dpi(_DPI)
        fig.tight_layout()
        return _save(fig, path)
    finally:
        _pyplot().close(fig)


def plot_optimization_history(study: Any, path: Path) -> Path:
    """Optuna's optimization history of validation accuracy, over the trained feasible trials."""
    import optuna.visualization.matplotlib as ovm

    history = _accuracy_study(study, feasible_only=False)
    _pyplot()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        ax = ovm.plot_optimization_history(history)
    ax.set_ylabel("validation accuracy (grey: over budget)")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _save_axes(ax, path, "Optimization history")


def plot_param_importances(study: Any, path: Path) -> Path:
    """Optuna's PED-ANOVA importance of each searched parameter for validation accuracy (no scikit-learn needed)."""
    import optuna.visualization.matplotlib as ovm
    from optuna.importance import PedAnovaImportanceEvaluator

    feasible = _accuracy_study(study, feasible_only=True)
    varied = {
        name
        for t in feasible.trials
        for name in t.params
        if len({str(u.params.get(name)) for u in feasible.trials}) > 1
    }
    if not varied:
        raise KwsautoError("no parameter took two values among the trained trials")
    _pyplot()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ax = ovm.plot_param_importances(
                feasible,
                evaluator=PedAnovaImportanceEvaluator(),
                params=sorted(varied),
                target_name="validation accuracy",
            )
        except (ValueError, RuntimeError) as exc:
            raise KwsautoError(f"Optuna cannot compute importances: {exc}") from None
    return _save_axes(ax, path, "Parameter importances (PED-ANOVA)")


def write_run_plots(run: Run | str | Path, out_dir: str | Path, storage: str | None = None) -> RunPlots:
    """Every plot of ``run`` (a :class:`Run` or its folder) as PNG in ``out_dir``; plots that cannot be drawn say why."""
    if not isinstance(run, Run):
        run = Run.open(run, storage)
    study, card = run.study, run.card
    ram_limit = card.limits.get("ram_bytes") if card is not None else run.settings.budget.ram_bytes
    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    skipped: dict[str, str] = {}

    def attempt(name: str, draw: Callable[[Path], Path]) -> None:
        try:
            files[name] = draw(out_dir / f"{name}.png")
        except KwsautoError as exc:
            skipped[name] = str(exc)
            _LOGGER.info("Plot %s skipped: %s", name, exc)

    if card is not None and card.metrics.test_confusion:
        title = f"Test split, trial {card.trial} (float)"
        attempt("confusion", lambda p: plot_confusion(card.labels, card.metrics.test_confusion, p, title=title))
    else:
        skipped["confusion"] = "no chosen model yet (no best/card.json)"
    chosen = card.trial if card is not None else None
    rows = run.rows()
    attempt(
        "accuracy_vs_ram",
        lambda p: plot_accuracy_vs_ram(rows, p, ram_limit_bytes=ram_limit, chosen=chosen),
    )
    attempt("optimization_history", lambda p: plot_optimization_history(study, p))
    attempt("param_importances", lambda p: plot_param_importances(study, p))
    return RunPlots(files, skipped)
