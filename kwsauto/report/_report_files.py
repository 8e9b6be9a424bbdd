"""``report.html`` (self-contained) and ``report.md`` (beside ``plots/``): a run's report, rendered and written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kwsauto._io import atomic_write_text
from kwsauto.report._html import render_html
from kwsauto.report._markdown import render_markdown
from kwsauto.report._plots import RunPlots
from kwsauto.report._run_report import RunReport, build_run_report, writing_report_into

__all__ = ["ReportFiles", "write_report", "write_run_report"]


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path
    plots: RunPlots = field(default_factory=RunPlots)


def write_report(report: RunReport, out: str | Path) -> ReportFiles:
    """Render ``report`` into ``out/report.html`` (self-contained) and ``out/report.md`` (its plots as files)."""
    out = Path(out)
    html_path, md_path = out / "report.html", out / "report.md"
    with writing_report_into(out):
        atomic_write_text(html_path, render_html(report))
        atomic_write_text(md_path, render_markdown(report, plots_relative_to=out))
    return ReportFiles(html_path, md_path, report.plots)


def write_run_report(
    run_dir: str | Path, out: str | Path | None = None, storage: str | None = None
) -> ReportFiles:
    """Write ``report.html`` (self-contained) and ``report.md`` (with ``plots/``) into ``out`` (default: the run).

    To add how to reproduce the run, build the report (:func:`build_run_report`), give it a ``command`` and
    :func:`write_report` it, as ``kwsauto report`` does.
    """
    out = Path(out) if out else Path(run_dir)
    return write_report(build_run_report(run_dir, out / "plots", storage), out)
