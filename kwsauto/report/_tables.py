"""Rich renderables for results: the leaderboard, the chosen model's panel, per-class metrics, confusion."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kwsauto.units import format_bytes

if TYPE_CHECKING:
    from kwsauto.search import ModelCard

__all__ = ["leaderboard_table", "best_panel", "class_metrics_table", "confusion_table"]

_STATE_STYLE = {"complete": "green", "infeasible": "yellow", "pruned": "blue", "cut": "magenta", "fail": "red", "failed": "red", "running": "cyan"}


def _fmt_acc(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def _fmt_bytes(value: float | None) -> str:
    return "" if value is None else format_bytes(value)


def leaderboard_table(
    rows: Sequence[dict[str, Any]],
    *,
    top: int | None = 10,
    title: str = "Leaderboard",
    compact: bool = False,
    show_all: Callable[[int], str] | None = None,
) -> Table:
    """Top trials, then the infeasible ones with the limit they broke and by how much.

    ``compact`` (for terminals under ~110 columns) drops the flash and time columns. A "device" column says where
    each trial trained once any trained off the CPU (``cpu``, ``cuda:1``, ``mps``). Rows are the leaderboard's
    dicts (its CSV rows). When trials are left out, the caption counts them; ``show_all(n_rows)`` adds how to
    see them all (the CLI's command).
    """
    table = Table(title=Text(title), box=box.SIMPLE_HEAVY, header_style="bold", pad_edge=False)
    columns = [
        ("#", "right"),
        ("state", "left"),
        ("val", "right"),
        ("test", "right"),
        ("model", "left"),
        ("RAM", "right"),
        ("flash", "right"),
        ("latency", "right"),
        ("time", "right"),
        ("device", "left"),
        ("note", "left"),
    ]
    if all(r.get("device") in (None, "cpu") for r in rows):
        columns.remove(("device", "left"))
    if compact:
        columns = [c for c in columns if c[0] not in ("flash", "time")]
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=name != "note", overflow="fold")
    trained = [r for r in rows if r.get("state") == "complete"]
    others = [r for r in rows if r.get("state") != "complete"]
    top = top or len(rows)
    # the best trained trials, then a few of the rest (infeasible ones closest to fitting first)
    others.sort(key=lambda r: (r.get("state") != "infeasible", len(r.get("violations") or []), r.get("ram_bytes") or 0))
    shown = trained[:top] + others[: max(3, top - len(trained[:top]))]
    shown = shown[: max(top, len(trained[:top]) + 3)]
    for row in shown:
        model = row.get("model") or ""
        if compact:
            model = model.replace("mobilenetv", "mnv")
        note = "; ".join(row.get("violations") or []) or (row.get("error") or "")
        if compact and row.get("violations"):  # "ram 72.2 KB > 64.0 KB (+13%)" -> "ram +13%"
            note = "; ".join(f"{v.split()[0]} {v.rsplit('(', 1)[-1].rstrip(')')}" for v in row["violations"])
        if row.get("state") == "pruned" and row.get("epochs_run") is not None:
            note = f"pruned after epoch {row['epochs_run']}"
        style = _STATE_STYLE.get(row.get("state", ""), "")
        cells = {
            "#": str(row["number"]),
            "state": Text(row.get("state", ""), style=style),
            "val": _fmt_acc(row.get("val_accuracy")),
            "test": _fmt_acc(row.get("test_accuracy")),
            "model": Text(model),
            "RAM": _fmt_bytes(row.get("ram_bytes")),
            "flash": _fmt_bytes(row.get("flash_bytes")),
            "latency": "" if row.get("latency_ms") is None else f"{row['latency_ms']:.0f} ms",
            "time": "" if row.get("seconds") is None else f"{row['seconds']:.0f}s",
            "device": row.get("device") or "",
            "note": Text(note[:120], style="dim"),
        }
        table.add_row(*(cells[name] for name, _ in columns))
    if len(rows) > len(shown):
        table.caption = f"{len(rows) - len(shown)} more trial(s)" + (f": {show_all(len(rows))}" if show_all else "")
    return table


def best_panel(card: ModelCard, run_dir: Path, files_dir: Path | None = None) -> Panel:
    """The chosen model: accuracy, its share of each limit, and its files (in ``files_dir``, default best/)."""
    files_dir = files_dir or run_dir / "best"
    metrics, footprint, limits = card.metrics, card.footprint, card.limits
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    pretrained = card.config.model.pretrained
    start = {False: "trained from scratch", True: "fine-tuned from kwsauto's pretrained backbone"}.get(
        pretrained, f"fine-tuned from {pretrained}"
    )
    table.add_row("model", Text(f"{card.model} (trial {card.trial}), {len(card.labels)} classes, {start}"))
    demo = " (synthetic demo voices: not a measure of real speech)" if card.data.demo else ""
    int8 = metrics.test_accuracy_tflite if metrics.test_accuracy_tflite is not None else metrics.test_accuracy_int8
    selection = card.selection
    if selection is not None and selection.val_runs > 1:  # the estimate over new seeds, with its spread
        val = f"val {100 * selection.val_estimate:.1f} ± {100 * selection.val_spread:.1f}% ({selection.val_runs} seeds)"
    else:
        val = f"val {_fmt_acc(metrics.val_accuracy)}"
    table.add_row(
        "accuracy",
        f"{val} · test {_fmt_acc(metrics.test_accuracy)} float, "
        f"{_fmt_acc(int8)} int8 TFLite · macro-F1 {metrics.test_macro_f1:.3f}{demo}",
    )
    if selection is not None:
        ranked = ", ".join(f"{c.trial}: {100 * c.mean:.1f}%" for c in sorted(selection.candidates, key=lambda c: -c.mean))
        refit = f" · refit on train+val, {selection.refit_epochs} epochs" if selection.refit else " · not refit"
        note = f" ({selection.note})" if selection.note else ""
        table.add_row("chosen", Text(f"by mean val over seeds of trials {ranked}{refit}{note}"))
    for warning in card.data.warnings:
        table.add_row("[yellow]warning[/]", Text(warning))
    verification = card.verification
    if verification is not None:
        table.add_row(
            "verified",
            f"TFLite Micro arena {format_bytes(verification.tflm_arena_bytes)} (host build) · TFLM = LiteRT within "
            f"{verification.tflm_vs_litert_max_lsb} LSB · top-1 agreement with float "
            f"{100 * verification.agreement_tflite_float:.1f}%",
        )
    for key, label in (("ram_bytes", "RAM"), ("flash_bytes", "flash"), ("latency_ms", "latency")):
        value = getattr(footprint, key)
        limit = limits.get(key)
        shown = f"{value:.1f} ms" if key == "latency_ms" else format_bytes(value)
        if limit:
            limit_text = f"{limit:.0f} ms" if key == "latency_ms" else format_bytes(limit)
            shown += f" of {limit_text} ({100 * value / limit:.0f}%)"
        table.add_row(label, shown)
    table.add_row("device", f"{footprint.device} · {footprint.macs / 1e6:.2f} M MACs · {footprint.params:,} params")
    files = [str(files_dir / name) for name in card.files.values()] + [str(files_dir / "card.json")]
    table.add_row("files", Text("\n".join(files)))
    return Panel(table, title="Chosen model", border_style="green", expand=False)


def class_metrics_table(
    per_class: Mapping[str, Mapping[str, float]], accuracy: float, macro_f1: float, title: str = "Per-class metrics"
) -> Table:
    """Precision, recall, F1 and support per class (``ClassMetrics.per_class``, a card's ``test_per_class``)."""
    table = Table(title=title, box=box.SIMPLE)
    for name in ("class", "precision", "recall", "F1", "support"):
        table.add_column(name, justify="left" if name == "class" else "right")
    for label, m in per_class.items():
        table.add_row(Text(label), f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"]))
    table.caption = f"accuracy {_fmt_acc(accuracy)} · macro-F1 {macro_f1:.3f}"
    return table


def confusion_table(labels: Sequence[str], confusion: Sequence[Sequence[int]], title: str = "Confusion matrix") -> Table:
    """Rows: true class; columns: predicted class. The diagonal is green, errors red."""
    table = Table(title=title, box=box.SIMPLE, header_style="bold")
    table.add_column("true \\ pred")
    short = [label[:6] for label in labels]
    for name in short:
        table.add_column(Text(name), justify="right")
    for i, row in enumerate(confusion):
        cells = [Text(str(v), style="green" if i == j else ("red" if v else "dim")) for j, v in enumerate(row)]
        table.add_row(Text(labels[i]), *cells)
    return table


