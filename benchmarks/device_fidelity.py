"""Device fidelity: kwsauto's RAM, flash and latency estimates against TFLM, the .tflite writer and published numbers.

Three tables:

1. RAM: the estimated TFLM arena (``estimate_footprint`` on the ``host`` profile, whose 8-byte pointers match the
   64-bit tflite-micro Python package) against the smallest arena TFLM accepts (``tflm_arena_usage``) for a
   placeholder-weight .tflite of the same graph, for every backbone and width of the registry, on the default
   search features (MFE, 1 s window, 40 filters; 20 ms and 10 ms stride), 12 classes.
2. Flash: the estimated .tflite size (``Footprint.model_bytes``) against the bytes the writer produces.
3. Latency: the cycle model's prediction for every calibration row against its published value; ``fit`` rows
   must be within +-35 %, ``faster`` rows (engines that beat TFLM) must not be undercut, ``older`` rows (an older
   TFLM stack) must not be exceeded. Exit status 1 when a row fails.

Runs in about a minute on two cores.

    python benchmarks/device_fidelity.py [--strides 0.02 0.01] [--classes 12]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kwsauto.device import estimate_footprint, get_device
from kwsauto.device._latency import CALIBRATION, TOLERANCE, predicted_ms, row_holds
from kwsauto.export import placeholder_quantized_graph, tflite_bytes, tflm_arena_usage, trace_int8_graph
from kwsauto.features import FeatureConfig
from kwsauto.models import ModelSpec, create_model, list_models, resolve

_LABELS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_silence_", "_unknown_")


@dataclass(frozen=True)
class MemoryRow:
    model: str
    input_shape: tuple[int, int, int]
    est_arena: int
    tflm_arena: int
    est_tflite: int
    tflite: int


def measure(name: str, features: FeatureConfig, classes: int) -> MemoryRow:
    """Estimated and measured arena and .tflite size of registry model ``name`` on ``features``."""
    entry = resolve(name)
    labels = (_LABELS * (classes // len(_LABELS) + 1))[:classes]
    graph = trace_int8_graph(
        create_model(ModelSpec(entry.arch, entry.width), classes, features.shape), features.shape
    )
    footprint = estimate_footprint(graph, features, get_device("host"), labels=labels)
    data = tflite_bytes(placeholder_quantized_graph(graph), labels=labels, feature_params=features.to_dict())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(data)
        arena = tflm_arena_usage(path).arena_bytes
    return MemoryRow(name, features.shape, footprint.arena_bytes, arena, footprint.model_bytes, len(data))


def _ratio_range(ratios: list[float]) -> str:
    return f"ratio {min(ratios):.4f}-{max(ratios):.4f}" if ratios else "no rows"


def memory_table(rows: list[MemoryRow], *, flash: bool) -> Table:
    what = ".tflite bytes" if flash else "arena bytes"
    pairs = [(r.est_tflite, r.tflite) if flash else (r.est_arena, r.tflm_arena) for r in rows]
    ratios = [est / real for est, real in pairs]
    title = (
        "2 · Flash: estimated vs written .tflite"
        if flash
        else "1 · RAM: estimated vs TFLM-measured arena (host)"
    )
    table = Table(title=title, caption=f"{len(rows)} models, {_ratio_range(ratios)}")
    for col in (
        "model",
        "input",
        f"estimated {what}",
        f"{'written' if flash else 'TFLM'} {what}",
        "difference",
        "ratio",
    ):
        table.add_column(col, justify="left" if col in ("model", "input") else "right", no_wrap=True)
    for row, (est, real), ratio in zip(rows, pairs, ratios):
        shape = "x".join(map(str, row.input_shape))
        table.add_row(row.model, shape, f"{est:,}", f"{real:,}", f"{est - real:+,}", f"{ratio:.4f}")
    return table


def latency_table() -> tuple[Table, int]:
    """Table 3 and the number of rows whose check fails."""
    checks = {"fit": f"within ±{TOLERANCE:.0%}", "faster": "≥ faster engine", "older": "≤ older stack"}
    table = Table(title="3 · Latency: predicted vs published (inference only, no DSP)")
    for col in (
        "model",
        "board",
        "core",
        "clock",
        "stack",
        "published ms",
        "predicted ms",
        "ratio",
        "check",
        "source",
    ):
        table.add_column(
            col,
            justify="right" if col.endswith(("ms", "ratio", "clock")) else "left",
            overflow="fold",
            no_wrap=col not in ("source", "stack", "model"),
        )
    failures = 0
    for row in CALIBRATION:
        predicted = predicted_ms(row)
        ok = row_holds(row, predicted)
        failures += not ok
        mark = "[green]✓[/]" if ok else "[red]✗[/]"
        table.add_row(
            row.label,
            row.board,
            row.core,
            f"{row.clock_hz / 1e6:.0f} MHz",
            row.stack,
            f"{row.published_ms:.1f}",
            f"{predicted:.1f}",
            f"{predicted / row.published_ms:.2f}",
            f"{mark} {checks[row.role]}",
            row.source,
        )
    table.caption = f"{len(CALIBRATION)} rows, {failures} failing"
    return table, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--strides", type=float, nargs="+", default=[0.02, 0.01], help="frame strides in seconds"
    )
    parser.add_argument("--classes", type=int, default=12)
    args = parser.parse_args(argv)
    console = Console()
    started = time.perf_counter()
    rows = [
        measure(name, FeatureConfig(frame_stride_s=stride), args.classes)
        for stride in args.strides
        for name in list_models()
    ]
    console.print(memory_table(rows, flash=False))
    console.print(memory_table(rows, flash=True))
    table, failures = latency_table()
    console.print(table)
    console.print(f"[dim]{time.perf_counter() - started:.0f} s[/]")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
