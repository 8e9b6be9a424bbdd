"""Reports: rich tables, the chosen model's panel and live search progress. Reads results, never trains."""

from kwsauto.report._progress import SearchProgress
from kwsauto.report._tables import best_panel, class_metrics_table, confusion_table, leaderboard_table, sort_rows

__all__ = ["SearchProgress", "best_panel", "class_metrics_table", "confusion_table", "leaderboard_table", "sort_rows"]
