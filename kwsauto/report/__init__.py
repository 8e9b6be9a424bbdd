"""Reports: rich tables, the chosen model's panel, live search progress, and a model's benchmark, layer summary,
plots and HTML/Markdown run report. Reads results and runs exported models; never trains."""

from __future__ import annotations

import importlib
from typing import Any

from kwsauto.report._progress import SearchProgress
from kwsauto.report._tables import (
    best_panel,
    class_metrics_table,
    confusion_table,
    leaderboard_table,
    sort_rows,
)

# Benchmark, summary, plots and the run report load torch, Optuna and matplotlib: imported when first used.
_LAZY = {
    "BenchmarkReport": "_benchmark_results",
    "ModelBenchmark": "_benchmark_results",
    "benchmark": "_benchmark",
    "write_benchmark_json": "_benchmark_results",
    "accuracy_table": "_benchmark_tables",
    "benchmark_view": "_benchmark_tables",
    "footprint_table": "_benchmark_tables",
    "latency_table": "_benchmark_tables",
    "ModelSummary": "_summary",
    "summarize": "_summary",
    "summary_table": "_summary",
    "RunPlots": "_plots",
    "plot_accuracy_vs_ram": "_plots",
    "plot_confusion": "_plots",
    "plot_optimization_history": "_plots",
    "plot_param_importances": "_plots",
    "write_run_plots": "_plots",
    "ReportFiles": "_report_files",
    "RunReport": "_run_report",
    "build_run_report": "_run_report",
    "write_run_report": "_report_files",
}

__all__ = [
    "BenchmarkReport",
    "ModelBenchmark",
    "ModelSummary",
    "ReportFiles",
    "RunPlots",
    "RunReport",
    "SearchProgress",
    "accuracy_table",
    "benchmark",
    "benchmark_view",
    "best_panel",
    "build_run_report",
    "class_metrics_table",
    "confusion_table",
    "footprint_table",
    "latency_table",
    "leaderboard_table",
    "plot_accuracy_vs_ram",
    "plot_confusion",
    "plot_optimization_history",
    "plot_param_importances",
    "sort_rows",
    "summarize",
    "summary_table",
    "write_benchmark_json",
    "write_run_plots",
    "write_run_report",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"kwsauto.report.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'kwsauto.report' has no attribute {name!r}")
