"""A run's report: what it searched, what it chose, its plots, and the command that reproduces it.

:func:`build_run_report` reads a run folder (never trains or evaluates: the numbers are the study's and the
card's) and draws its plots; :mod:`kwsauto.report._report_files` renders it. A run without a chosen model still
gets a report, which says so.
"""

from __future__ import annotations

import datetime
import shlex
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kwsauto.report._plots import RunPlots, write_run_plots

if TYPE_CHECKING:
    from kwsauto.search import ModelCard, RunSettings

__all__ = ["RunReport", "build_run_report", "reproduce_command"]

@dataclass(frozen=True)
class RunReport:
    """Everything a report shows, read from the run folder."""

    run_dir: Path
    settings: RunSettings
    rows: list[dict[str, Any]]
    card: ModelCard | None
    command: str
    plots: RunPlots
    created: str
    notes: tuple[str, ...] = ()  # what the reader must know first: no chosen model, say
    reproduce_note: str = ""  # what the command cannot say

    @property
    def states(self) -> dict[str, int]:
        """Trials per state (complete, infeasible, pruned, failed, ...)."""
        return dict(Counter(r.get("state", "") for r in self.rows))

    @property
    def title(self) -> str:
        return f"kwsauto report · {self.settings.study}"


def reproduce_command(settings: RunSettings, n_trials: int, run_dir: Path) -> str:
    """The ``kwsauto search`` command line that runs (or resumes) this search, from its ``run.json``."""
    from kwsauto.data import DatasetOptions

    args = ["kwsauto", "search"]
    if not settings.demo:
        args.append(settings.data)
    budget = settings.budget
    for flag, n in (("--budget", budget.ram_bytes), ("--flash", budget.flash_bytes)):
        if n:
            args += [flag, f"{n // 1024}KB" if n % 1024 == 0 else str(n)]
    if budget.latency_ms:
        args += ["--latency", f"{budget.latency_ms:g}"]
    args += ["--device", settings.device, "--space", settings.space, "--trials", str(max(n_trials, 1))]
    args += ["--seed", str(settings.seed), "--sampler", settings.sampler, "--pruner", settings.pruner]
    args += ["--objective", settings.objective, "--metric", settings.metric]
    if settings.time_limit_s:
        args += ["--time-limit", f"{settings.time_limit_s:g}s"]
    if settings.workers > 1:
        args += ["--workers", str(settings.workers)]
    if settings.expert:
        args += ["--expert", settings.expert]
    if settings.pretrained:
        args += ["--pretrained", settings.pretrained]
    args += ["--study", settings.study, "--out", str(run_dir)]
    dataset, default = settings.dataset, DatasetOptions()
    if dataset.keywords:
        args += ["--keywords", ",".join(dataset.keywords)]
    if dataset.noise_class:
        args.append("--noise-class")
    if dataset.strict:
        args.append("--strict")
    if dataset.speaker_patterns != default.speaker_patterns:
        for pattern in dataset.speaker_patterns:
            args += ["--speaker-pattern", pattern]
    return shlex.join(args)


def build_run_report(
    run_dir: str | Path, plots_dir: str | Path | None = None, storage: str | None = None
) -> RunReport:
    """Read the run at ``run_dir`` and draw its plots into ``plots_dir`` (default ``RUN_DIR/plots``)."""
    from kwsauto.search import Run

    run = Run.open(run_dir, storage)
    run_dir = Path(run_dir)
    plots = write_run_plots(run, Path(plots_dir) if plots_dir else run_dir / "plots")
    rows = run.rows()
    notes = []
    if run.card is None:
        notes.append(
            "No trained trial fits the budget yet, so no model was chosen: run the search longer or relax the budget."
        )
    reproduce = f"The same command again resumes the study in {run_dir}."
    if run.settings.storage:
        reproduce += f" The study lives in shared storage ({run.settings.storage}): add --storage with its password."
    finished = [r for r in rows if r.get("state") not in ("running", "waiting")]
    return RunReport(
        run_dir=run_dir,
        settings=run.settings,
        rows=rows,
        card=run.card,
        command=reproduce_command(run.settings, len(finished), run_dir),
        plots=plots,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        notes=tuple(notes),
        reproduce_note=reproduce,
    )
