"""Reports: rich tables, the chosen model's panel, live search progress, a benchmark's and a layer summary's
tables, plots and the HTML/Markdown run report. Renders results (``kwsauto.evaluate`` measures them)."""

from __future__ import annotations

import importlib
from typing import Any

from kwsauto.report._progress import DataProgress, SearchProgress
from kwsauto.report._tables import (
    best_panel,
    class_metrics_table,
    confusion_table,
    leaderboard_table,
)

# Benchmark and summary tables, plots and the run report load torch, Optuna and matplotlib: imported when first used.
_LAZY = {
    "accuracy_table": "_benchmark_tables",
    "benchmark_view": "_benchmark_tables",
    "footprint_table": "_benchmark_tables",
    "latency_table": "_benchmark_tables",
    "summary_table": "_summary_table",
    "calibration_table": "_streaming_tables",
    "chosen_table": "_streaming_tables",
    "detections_table": "_streaming_tables",
    "RunPlots": "_plots",
    "plot_accuracy_vs_ram": "_plots",
    "plot_calibration": "_plots",
    "plot_confusion": "_plots",
    "plot_optimization_history": "_plots",
    "plot_param_importances": "_plots",
    "write_run_plots": "_plots",
    "ReportFiles": "_report_files",
    "RunReport": "_run_report",
    "build_run_report": "_run_report",
    "write_report": "_report_files",
    "write_run_report": "_report_files",
}

__all__ = [
    "DataProgress",
    "ReportFiles",
    "RunPlots",
    "RunReport",
    "SearchProgress",
    "accuracy_table",
    "benchmark_view",
    "best_panel",
    "build_run_report",
    "calibration_table",
    "chosen_table",
    "class_metrics_table",
    "confusion_table",
    "detections_table",
    "footprint_table",
    "latency_table",
    "leaderboard_table",
    "plot_accuracy_vs_ram",
    "plot_calibration",
    "plot_confusion",
    "plot_optimization_history",
    "plot_param_importances",
    "summary_table",
    "write_report",
    "write_run_plots",
    "write_run_report",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"kwsauto.report.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'kwsauto.report' has no attribute {name!r}")
