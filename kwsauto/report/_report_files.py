"""``report.html`` (self-contained) and ``report.md`` (beside ``plots/``): a run's report, rendered and written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kwsauto._io import atomic_write_text
from kwsauto.errors import OutputError
from kwsauto.report._html import render_html
from kwsauto.report._markdown import render_markdown
from kwsauto.report._plots import RunPlots
from kwsauto.report._run_report import build_run_report

__all__ = ["ReportFiles", "write_run_report"]


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path
    plots: RunPlots = field(default_factory=RunPlots)


def write_run_report(
    run_dir: str | Path, out: str | Path | None = None, storage: str | None = None
) -> ReportFiles:
    """Write ``report.html`` (self-contained) and ``report.md`` (with ``plots/``) into ``out`` (default: the run)."""
    out = Path(out) if out else Path(run_dir)
    html_path, md_path = out / "report.html", out / "report.md"
    try:
        report = build_run_report(run_dir, out / "plots", storage)
        atomic_write_text(html_path, render_html(report))
        atomic_write_text(md_path, render_markdown(report, plots_relative_to=out))
    except OSError as exc:
        raise OutputError(
            f"Cannot write the report into {out}: {exc.strerror or exc}; choose another folder with --out."
        ) from None
    return ReportFiles(html_path, md_path, report.plots)
