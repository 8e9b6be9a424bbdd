"""A run's report: what it searched, what it chose, its plots, and (when given) the command that reproduces it.

:func:`build_run_report` reads a run folder (never trains or evaluates: the numbers are the study's and the
card's) and draws its plots; :mod:`kwsauto.report._report_files` renders it. A run without a chosen model still
gets a report, which says so. The reproducing command is the caller's to give (the CLI writes it from the run's
settings): the report only renders it.
"""

from __future__ import annotations

import contextlib
import datetime
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kwsauto.errors import OutputError
from kwsauto.report._plots import RunPlots, write_run_plots

if TYPE_CHECKING:
    from kwsauto.search import ModelCard, RunSettings

__all__ = ["RunReport", "build_run_report", "writing_report_into"]


@contextlib.contextmanager
def writing_report_into(out: Path) -> Iterator[None]:
    """An OS error while writing the report (or its plots) into ``out`` becomes a one-line error naming it."""
    try:
        yield
    except OSError as exc:
        raise OutputError(
            f"Cannot write the report into {out}: {exc.strerror or exc}; choose another folder (`out`)."
        ) from None

@dataclass(frozen=True)
class RunReport:
    """Everything a report shows, read from the run folder."""

    run_dir: Path
    settings: RunSettings
    rows: list[dict[str, Any]]  # the leaderboard's rows, as its table and CSV hold them
    card: ModelCard | None
    plots: RunPlots
    created: str
    notes: tuple[str, ...] = ()  # what the reader must know first: no chosen model, say
    command: str = ""  # the command line that reproduces the run ("": the report has no "How to reproduce")
    reproduce_note: str = ""  # what the command cannot say

    @property
    def states(self) -> dict[str, int]:
        """Trials per state (complete, infeasible, pruned, failed, ...)."""
        return dict(Counter(r.get("state", "") for r in self.rows))

    @property
    def finished(self) -> int:
        """Trials that ended (not running or waiting): what running the search again must count to."""
        return sum(r.get("state") not in ("running", "waiting") for r in self.rows)

    @property
    def title(self) -> str:
        return f"kwsauto report · {self.settings.study}"


def build_run_report(
    run_dir: str | Path, plots_dir: str | Path | None = None, storage: str | None = None
) -> RunReport:
    """Read the run at ``run_dir`` and draw its plots into ``plots_dir`` (default ``RUN_DIR/plots``)."""
    from kwsauto.search import Run

    run = Run.open(run_dir, storage)
    run_dir = Path(run_dir)
    plots_dir = Path(plots_dir) if plots_dir else run_dir / "plots"
    with writing_report_into(plots_dir.parent):
        plots = write_run_plots(run, plots_dir)
    rows = run.rows()
    notes = []
    if run.card is None:
        notes.append(
            "No trained trial fits the budget yet, so no model was chosen: run the search longer or relax the budget."
        )
    return RunReport(
        run_dir=run_dir,
        settings=run.settings,
        rows=rows,
        card=run.card,
        plots=plots,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        notes=tuple(notes),
    )
