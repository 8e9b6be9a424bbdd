"""``report.html``: one self-contained file, styles inline and plots embedded as base64 PNG.

Nothing is fetched when it opens (no external CSS, JS, fonts or images), so it can be mailed, archived by CI,
or opened offline. Every text from the run is HTML-escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from kwsauto.search import ModelCard

__all__ = ["png_data_uri", "render_html"]

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d232a; background: #f5f6f8;
       margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 2px solid #e3e6ea;
     padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: #5b6570; margin: 0 0 16px; }
table { border-collapse: collapse; font-size: 13.5px; margin: 6px 0 12px; }
th, td { padding: 4px 10px; text-align: left; border-bottom: 1px solid #e7e9ec; vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
table.kv th { background: none; color: #5b6570; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.state-complete { color: #1a7f37; } .state-infeasible { color: #9a6700; } .state-pruned { color: #0969da; }
.state-fail, .state-failed { color: #cf222e; } .chosen td { background: #fff8c5; }
.note { background: #fff8c5; border-left: 4px solid #d4a72c; padding: 8px 12px; margin: 8px 0; }
.muted { color: #5b6570; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid #e3e6ea; padding: 8px; background: #fff; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { font-size: 13px; color: #5b6570; text-align: center; margin-top: 4px; }
pre { background: #1d232a; color: #e6edf3; padding: 12px 14px; white-space: pre-wrap; overflow-wrap: anywhere;
      border-radius: 4px; font-size: 13px; }
.cm td { text-align: center; min-width: 36px; } footer { margin-top: 36px; font-size: 12px; color: #8c959f; }
"""


def png_data_uri(path: Path) -> str:
    """``data:image/png;base64,...`` of the PNG at ``path``, for an ``<img>`` that needs no second file."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _kv(items: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in items)
    return f'<table class="kv">{rows}</table>'


Cell = str | tuple[str, str]  # text, or (text, css class)


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    numeric: Sequence[int] = (),
    row_classes: Sequence[str] = (),
) -> str:
    def td(i: int, cell: Cell) -> str:
        text, cls = cell if isinstance(cell, tuple) else (cell, "")
        classes = " ".join(filter(None, ("num" if i in numeric else "", cls)))
        return f'<td class="{classes}">{escape(text)}</td>' if classes else f"<td>{escape(text)}</td>"

    head = "".join(
        f'<th class="num">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for n, row in enumerate(rows):
        row_class = f' class="{row_classes[n]}"' if n < len(row_classes) and row_classes[n] else ""
        body.append(f"<tr{row_class}>" + "".join(td(i, c) for i, c in enumerate(row)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _leaderboard(report: RunReport) -> str:
    if not report.rows:
        return '<p class="muted">No trial has run yet.</p>'
    chosen = report.card.trial if report.card else None
    rows: list[list[Cell]] = []
    for r in report.rows:
        cells: list[Cell] = list(leaderboard_cells(r))
        cells[1] = (cells[1], f"state-{r.get('state', '')}")
        rows.append(cells)
    marks = ["chosen" if r["number"] == chosen else "" for r in report.rows]
    html = _table(LEADERBOARD_HEADER, rows, numeric=(0, 2, 3, 5, 6, 7, 8), row_classes=marks)
    return html + (
        f'<p class="muted">The highlighted row is the chosen model (trial {chosen}).</p>'
        if chosen is not None
        else ""
    )


def _confusion(card: ModelCard) -> str:
    labels, matrix = card.labels, card.metrics.test_confusion
    if not matrix:
        return ""
    head = "".join(f"<th>{escape(label)}</th>" for label in labels)
    body = []
    for i, row in enumerate(matrix):
        total = max(sum(row), 1)
        cells = []
        for j, v in enumerate(row):
            alpha = 0.08 + 0.6 * v / total if v else 0
            color = f"rgba(26,127,55,{alpha:.2f})" if i == j else f"rgba(207,34,46,{alpha:.2f})"
            cells.append(f'<td style="background:{color}">{v}</td>')
        body.append(f"<tr><th>{escape(labels[i])}</th>{''.join(cells)}</tr>")
    return f'<h3>Confusion matrix (rows: true class, columns: predicted)</h3><table class="cm"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _chosen(report: RunReport) -> str:
    card = report.card
    if card is None:
        return '<p class="note">No model was chosen: no trained trial fits the budget yet.</p>'
    per_class = class_rows(card)
    parts = [_kv(model_items(card))]
    if per_class:
        m = card.metrics
        parts.append(
            f"<h3>Per-class metrics on the test split (float) · accuracy {100 * m.test_accuracy:.1f}% · "
            f"macro-F1 {m.test_macro_f1:.3f}</h3>"
        )
        parts.append(_table(CLASS_HEADER, per_class, numeric=(1, 2, 3, 4)))
    parts.append(_confusion(card))
    return "".join(parts)


def _plots(report: RunReport) -> str:
    figures = []
    for name, title in PLOT_TITLES.items():
        path = report.plots.files.get(name)
        if path is not None and Path(path).is_file():
            figures.append(
                f'<figure><img src="{png_data_uri(path)}" alt="{escape(title)}">'
                f"<figcaption>{escape(title)}</figcaption></figure>"
            )
    skipped = "".join(
        f"<li>{escape(PLOT_TITLES.get(n, n))}: {escape(why)}</li>" for n, why in report.plots.skipped.items()
    )
    out = (
        f'<div class="plots">{"".join(figures)}</div>'
        if figures
        else '<p class="muted">No plot could be drawn yet.</p>'
    )
    return out + (f'<p class="muted">Not drawn:</p><ul class="muted">{skipped}</ul>' if skipped else "")


def _reproduce(report: RunReport) -> str:
    if not report.command:
        return ""
    return (
        f"<h2>How to reproduce</h2>\n<pre><code>{escape(report.command)}</code></pre>\n"
        f'<p class="muted">{escape(report.reproduce_note)}</p>\n'
    )


def render_html(report: RunReport) -> str:
    """The whole report as one HTML document."""
    from kwsauto import __version__

    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in report.notes)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(report.title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>{escape(report.title)}</h1>
<p class="sub">{escape(str(report.run_dir))} · written {escape(report.created)}</p>
{notes}
<h2>Study settings, budget and device</h2>
{_kv(settings_items(report))}
<h2>Leaderboard</h2>
{_leaderboard(report)}
<h2>Chosen model</h2>
{_chosen(report)}
<h2>Plots</h2>
{_plots(report)}
{_reproduce(report)}<footer>kwsauto {escape(__version__)}</footer>
</main>
</body>
</html>
"""
