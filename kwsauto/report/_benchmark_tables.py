"""Rich renderables of a :class:`BenchmarkReport`: accuracy per runtime, footprint per device, host latency."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kwsauto.report._benchmark import BenchmarkReport, ModelBenchmark
from kwsauto.report._tables import class_metrics_table, confusion_table
from kwsauto.units import format_bytes

__all__ = ["accuracy_table", "footprint_table", "latency_table", "benchmark_view"]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def accuracy_table(report: BenchmarkReport) -> Table:
    """Test accuracy, macro-F1 and the worst class of every evaluated variant of every model."""
    table = Table(title="Test accuracy", box=box.SIMPLE_HEAVY, header_style="bold")
    for name, justify in (("model", "left"), ("runtime", "left"), ("accuracy", "right"), ("macro-F1", "right"),
                          ("worst class (F1)", "left"), ("clips", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    for i, model in enumerate(report.models):
        if i:
            table.add_section()
        if not model.accuracy:
            table.add_row(model.name, Text("not evaluated (see notes)", style="dim"), "", "", "", "")
        for row in model.accuracy:
            label, f1 = row.worst_class
            table.add_row(model.name, row.runtime, _pct(row.metrics.accuracy), f"{row.metrics.macro_f1:.3f}",
                          f"{label} ({f1:.3f})", str(model.test_clips))
    return table


def footprint_table(report: BenchmarkReport) -> Table:
    """RAM, flash and estimated latency on every registered device, and whether the budget is met there."""
    several = len(report.models) > 1
    table = Table(title="Footprint per device (estimated)", box=box.SIMPLE_HEAVY, header_style="bold")
    columns = ["device"] + (["model"] if several else []) + ["RAM", "arena", "flash", "latency", "fits"]
    for name in columns:
        table.add_column(name, justify="left" if name in ("device", "model", "fits") else "right", no_wrap=name != "fits")
    devices = [d.footprint.device for d in report.models[0].devices] if report.models else []
    for device in devices:
        for model in report.models:
            fit = next((d for d in model.devices if d.footprint.device == device), None)
            if fit is None:
                continue
            f = fit.footprint
            verdict = Text("yes", style="green") if fit.fits else Text("no: " + "; ".join(fit.violations), style="red")
            row = [device] + ([model.name] if several else [])
            table.add_row(*row, format_bytes(f.ram_bytes), format_bytes(f.arena_bytes), format_bytes(f.flash_bytes),
                          f"{f.latency_ms:.1f} ms", verdict)
        if several:
            table.add_section()
    budget = report.budget
    parts = [f"RAM {format_bytes(budget.ram_bytes)}" if budget.ram_bytes else "RAM: the device's",
             f"flash {format_bytes(budget.flash_bytes)}" if budget.flash_bytes else "flash: the device's"]
    if budget.latency_ms:
        parts.append(f"latency {budget.latency_ms:.0f} ms")
    table.caption = "budget: " + ", ".join(parts) + " (a device's capacity applies where it is smaller)"
    return table


def latency_table(report: BenchmarkReport) -> Table:
    """Measured host latency per 1 s clip, features and inference separately."""
    table = Table(title="Host latency per 1 s clip (measured)", box=box.SIMPLE_HEAVY, header_style="bold")
    for name, justify in (("model", "left"), ("stage", "left"), ("runtime", "left"), ("median", "right"),
                          ("p90", "right"), ("runs", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    for i, model in enumerate(report.models):
        if i:
            table.add_section()
        for s in model.latency:
            runtime = s.runtime + (f" · {s.variant.replace('_', ' ')}" if s.variant else "")
            table.add_row(model.name, s.stage, runtime, f"{s.median_ms:.3f} ms", f"{s.p90_ms:.3f} ms", str(s.runs))
    host = report.host
    table.caption = f"{host.get('machine', '')} · {host.get('platform', '')} · torch threads {host.get('torch_threads')}; one thread for LiteRT and ONNX Runtime"
    return table


def _model_details(model: ModelBenchmark) -> list[RenderableType]:
    parts: list[RenderableType] = []
    deployed = model.deployed
    if deployed is not None:
        metrics = deployed.metrics
        parts.append(class_metrics_table(metrics.to_dict(), title=f"{model.name} · {deployed.runtime} · per class"))
        parts.append(confusion_table(metrics.labels, metrics.confusion, title=f"{model.name} · confusion matrix"))
    for note in model.notes:
        parts.append(Text(f"{model.name}: {note}", style="yellow"))
    return parts


def benchmark_view(report: BenchmarkReport) -> Group:
    """Every table of the benchmark, then each model's per-class metrics, confusion matrix and notes."""
    parts: list[RenderableType] = [accuracy_table(report), footprint_table(report), latency_table(report)]
    for model in report.models:
        parts.extend(_model_details(model))
    return Group(*parts)
