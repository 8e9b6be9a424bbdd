"""A model summary as a rich table: one row per layer, the layers at peak RAM marked."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from kwsauto.evaluate import ModelSummary
from kwsauto.units import format_bytes

__all__ = ["summary_table"]


def _count(n: int) -> str:
    """1234 → ``1.2k``, 2345678 → ``2.35M``: short enough for an 80-column table."""
    if n < 1000:
        return str(n)
    return f"{n / 1e3:.1f}k" if n < 1_000_000 else f"{n / 1e6:.2f}M"


def summary_table(summary: ModelSummary) -> Table:
    """The layer table; rows at the arena's peak are marked ``◀`` (and red), the totals are in the caption.

    Shapes drop the batch axis and counts are short (``36.0k``), so it stays readable in 80 columns;
    :meth:`ModelSummary.to_dict` has the exact numbers.
    """
    f = summary.footprint
    title = f"{summary.name} · layer by layer on {f.device}"
    table = Table(title=title, box=box.SIMPLE_HEAVY, header_style="bold", pad_edge=False, show_edge=False)
    table.add_column("layer", min_width=12, overflow="fold")
    table.add_column("op", min_width=9)
    for col in ("output", "params", "MACs", "act.", "live"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)  # ◀ on the layers at peak RAM
    for row in summary.layers:
        table.add_row(
            row.name,
            row.op.replace("_", " "),  # DEPTHWISE CONV 2D wraps between words in a narrow terminal
            "x".join(str(d) for d in row.output_shape[1:]),
            _count(row.params),
            _count(row.macs),
            format_bytes(row.activation_bytes),
            format_bytes(row.live_bytes),
            Text("◀", style="bold red") if row.peak else "",
            style="bold red" if row.peak else "",
        )
    table.caption = (
        f"act.: the layer's output tensor · live: every tensor alive while it runs · "
        f"◀: it runs while the arena is at its peak\n"
        f"{f.params:,} params · {f.macs / 1e6:.2f} M MACs · flash {format_bytes(f.flash_bytes)} · "
        f"latency {f.latency_ms:.1f} ms\nRAM {format_bytes(f.ram_bytes)} = activation arena "
        f"{format_bytes(f.activation_bytes)} + persistent {format_bytes(f.persistent_bytes)} + DSP "
        f"{format_bytes(f.dsp_ram_bytes)}"
    )
    return table
