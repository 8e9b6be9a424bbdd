"""``report.md``: the same report as the HTML, in Markdown, with the plots as PNG files beside it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from kwsauto.report._report_sections import (
    CLASS_HEADER,
    LEADERBOARD_HEADER,
    PLOT_TITLES,
    class_rows,
    leaderboard_cells,
    model_items,
    settings_items,
)
from kwsauto.report._run_report import RunReport

__all__ = ["render_markdown"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    align = ["---:" if i in numeric else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _kv(items: Sequence[tuple[str, str]]) -> str:
    return _table(("", ""), [(f"**{k}**", v) for k, v in items])


def render_markdown(report: RunReport, plots_relative_to: Path | None = None) -> str:
    """The report in Markdown; plot links are relative to ``plots_relative_to`` (the report's folder)."""
    base = Path(plots_relative_to) if plots_relative_to else report.run_dir
    out = [f"# {report.title}", "", f"`{report.run_dir}` · written {report.created}", ""]
    out += [f"> **Note:** {n}\n" for n in report.notes]
    out += ["## Study settings, budget and device", "", _kv(settings_items(report)), ""]
    out += ["## Leaderboard", ""]
    if report.rows:
        chosen = report.card.trial if report.card else None
        rows = [leaderboard_cells(r) for r in report.rows]
        for row, r in zip(rows, report.rows):
            if r["number"] == chosen:
                row[0] = f"**{row[0]}** ★"
        out += [_table(LEADERBOARD_HEADER, rows, numeric=(0, 2, 3, 5, 6, 7, 8)), ""]
        if chosen is not None:
            out += [f"★ the chosen model (trial {chosen}).", ""]
    else:
        out += ["No trial has run yet.", ""]
    out += ["## Chosen model", ""]
    card = report.card
    if card is None:
        out += ["No model was chosen: no trained trial fits the budget yet.", ""]
    else:
        out += [_kv(model_items(card)), ""]
        per_class = class_rows(card)
        if per_class:
            m = card.metrics
            heading = (
                f"### Per-class metrics on the test split (float) · accuracy {100 * m.test_accuracy:.1f}% · "
                f"macro-F1 {m.test_macro_f1:.3f}"
            )
            out += [heading, "", _table(CLASS_HEADER, per_class, numeric=(1, 2, 3, 4)), ""]
        confusion = card.metrics.test_confusion
        if confusion:
            header = ["true \\ predicted", *card.labels]
            rows = [[label, *(str(v) for v in row)] for label, row in zip(card.labels, confusion)]
            out += ["### Confusion matrix", "", _table(header, rows, numeric=range(1, len(header))), ""]
    out += ["## Plots", ""]
    for name, title in PLOT_TITLES.items():
        path = report.plots.files.get(name)
        if path is not None:
            out += [f"![{title}]({Path(os.path.relpath(path, base)).as_posix()})", ""]
    for name, why in report.plots.skipped.items():
        out += [f"- {PLOT_TITLES.get(name, name)} not drawn: {why}"]
    if report.command:
        out += ["", "## How to reproduce", "", "```sh", report.command, "```", "", report.reproduce_note]
    out.append("")
    return "\n".join(out)
