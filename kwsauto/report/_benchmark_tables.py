"""Rich renderables of a :class:`BenchmarkReport`: accuracy per runtime, footprint per device, host latency.

Text columns wrap and number columns never do, so the tables stay readable in an 80-column terminal.
"""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kwsauto.device import Budget
from kwsauto.evaluate._benchmark_results import BenchmarkReport, DeviceFit, ModelBenchmark
from kwsauto.report._tables import class_metrics_table, confusion_table
from kwsauto.units import format_bytes

__all__ = ["accuracy_table", "benchmark_view", "footprint_table", "latency_table"]


def _table(title: str, columns: list[tuple[str, str]]) -> Table:
    """A table whose right-aligned (number) columns never wrap; text columns fold long names."""
    table = Table(title=title, box=box.SIMPLE_HEAVY, header_style="bold")
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=justify == "right", overflow="fold")
    return table


def _subject(report: BenchmarkReport) -> str:
    return "" if len(report.models) > 1 else f" · {report.models[0].name}" if report.models else ""


def accuracy_table(report: BenchmarkReport) -> Table:
    """Test accuracy, macro-F1 and the worst class of every evaluated variant of every model."""
    several = len(report.models) > 1
    columns = [("model", "left")] if several else []
    columns += [
        ("runtime", "left"),
        ("accuracy", "right"),
        ("macro-F1", "right"),
        ("worst class (F1)", "left"),
    ]
    table = _table(f"Test accuracy{_subject(report)}", columns)
    for i, model in enumerate(report.models):
        if i:
            table.add_section()
        first = [model.name] if several else []
        if not model.accuracy:
            table.add_row(*first, Text("not evaluated (see the notes)", style="dim"), "", "", "")
        for row in model.accuracy:
            label, f1 = row.worst_class
            cells = [
                row.runtime,
                f"{100 * row.metrics.accuracy:.1f}%",
                f"{row.metrics.macro_f1:.3f}",
                f"{label} ({f1:.3f})",
            ]
            table.add_row(*first, *cells)
    clips = sorted({m.test_clips for m in report.models if m.test_clips})
    table.caption = (
        f"{' / '.join(map(str, clips)) or 'no'} test clips · LiteRT runs its reference kernels, "
        "which round as TFLite Micro does"
    )
    return table


def _verdict(fit: DeviceFit) -> Text:
    if fit.fits:
        return Text("yes", style="green")
    broken = ", ".join(
        f"{v.limit.removesuffix('_bytes').removesuffix('_ms')} +{v.excess:.0%}" for v in fit.violations
    )
    return Text(f"no ({broken})", style="red")


def _budget_text(budget: Budget) -> str:
    parts = [
        f"RAM {format_bytes(budget.ram_bytes)}" if budget.ram_bytes else "RAM: the device's",
        f"flash {format_bytes(budget.flash_bytes)}" if budget.flash_bytes else "flash: the device's",
    ]
    if budget.latency_ms:
        parts.append(f"latency {budget.latency_ms:g} ms")
    return ", ".join(parts)


def footprint_table(report: BenchmarkReport) -> Table:
    """RAM, flash and estimated latency on every registered device, and whether the budget is met there."""
    several = len(report.models) > 1
    table = Table(
        title=f"Footprint per device (estimated){_subject(report)}", box=box.SIMPLE_HEAVY, header_style="bold"
    )
    table.add_column("device", no_wrap=True)
    if several:
        table.add_column("model", no_wrap=True)
    for name in ("RAM", "flash", "latency"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("fits")
    devices = [d.footprint.device for d in report.models[0].devices] if report.models else []
    for device in devices:
        for model in report.models:
            fit = next((d for d in model.devices if d.footprint.device == device), None)
            if fit is None:
                continue
            f = fit.footprint
            latency = f"{f.latency_ms:.1f} ms" if f.latency_ms < 100 else f"{f.latency_ms:.0f} ms"
            cells = [format_bytes(f.ram_bytes), format_bytes(f.flash_bytes), latency, _verdict(fit)]
            table.add_row(device, *([model.name] if several else []), *cells)
        if several:
            table.add_section()
    table.caption = (
        f"RAM = TFLM arena + DSP · budget: {_budget_text(report.budget)}; "
        "a device's own capacity applies where it is smaller"
    )
    return table


def latency_table(report: BenchmarkReport) -> Table:
    """Measured host latency per 1 s clip, features and inference separately."""
    several = len(report.models) > 1
    columns = [("model", "left")] if several else []
    columns += [("stage", "left"), ("runtime", "left"), ("median", "right"), ("p90", "right")]
    table = _table(f"Host latency per 1 s clip (measured){_subject(report)}", columns)
    runs = set()
    for i, model in enumerate(report.models):
        if i:
            table.add_section()
        for s in model.latency:
            runs.add((s.runs, s.warmup_runs))
            runtime = s.runtime + (f" · {s.variant.replace('_', ' ')}" if s.variant else "")
            cells = [s.stage, runtime, f"{s.median_ms:.3f} ms", f"{s.p90_ms:.3f} ms"]
            table.add_row(*([model.name] if several else []), *cells)
    host = report.host
    counts = "; ".join(f"{n} runs after {w} warm-up" for n, w in sorted(runs))
    table.caption = (
        f"{counts} · one thread each · {host.machine} {host.processor}".rstrip()
    )
    return table


def _model_details(model: ModelBenchmark) -> list[RenderableType]:
    parts: list[RenderableType] = []
    deployed = model.deployed
    if deployed is not None:
        metrics = deployed.metrics
        title = f"Per class · {model.name} · {deployed.runtime}"
        parts.append(class_metrics_table(metrics.per_class, metrics.accuracy, metrics.macro_f1, title=title))
        parts.append(
            confusion_table(metrics.labels, metrics.confusion, title=f"Confusion matrix · {model.name}")
        )
    parts.extend(Text(f"{model.name}: {note}", style="yellow") for note in model.notes)
    return parts


def benchmark_view(report: BenchmarkReport) -> Group:
    """Every table of the benchmark, then each model's per-class metrics, confusion matrix and notes."""
    parts: list[RenderableType] = [accuracy_table(report), footprint_table(report), latency_table(report)]
    for model in report.models:
        parts.extend(_model_details(model))
    return Group(*parts)
