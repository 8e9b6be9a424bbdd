"""Rich tables of streaming: the detections in a recording, and a calibration's sweep and chosen setting."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

__all__ = ["calibration_table", "chosen_table", "detections_table"]


def _settings_text(s: Any) -> str:
    return f"average {s.average_ms} ms · threshold {s.threshold:g} · suppression {s.suppression_ms} ms · hop {s.hop_ms} ms"


def detections_table(result: Any) -> Table:
    """The detections of one ``StreamResult``: time (end of the window that fired), keyword, average score."""
    table = Table(title=Text(f"Detections · {result.path.name}"),
                  caption=Text(f"{result.source} setting: {_settings_text(result.settings)} · "
                               f"{result.audio_s:.1f} s of audio, real-time factor {result.real_time_factor:.3f}"))
    table.add_column("time", justify="right")
    table.add_column("keyword")
    table.add_column("score", justify="right")
    for d in result.detections:
        table.add_row(f"{d.time_s:.2f} s", Text(d.label), f"{d.score:.3f}")
    return table


def calibration_table(result: Any, top: int = 15) -> Table:
    """The sweep on the validation stream: the ``top`` settings within the target by FRR, then the rest by FAR/h."""
    within = sorted((r for r in result.rows if r.score.far_per_hour <= result.target_far_per_hour),
                    key=lambda r: (r.score.frr, r.score.far_per_hour))
    table = Table(title=f"Calibration sweep · validation stream ({len(result.rows)} settings, "
                        f"{len(within)} within {result.target_far_per_hour:g} FA/h; best {min(top, len(within))} shown)")
    for column in ("average", "threshold", "suppression", "FAR/h", "FRR", "wrong keyword"):
        table.add_column(column, justify="right")
    for row in within[:top]:
        s, score = row.settings, row.score
        chosen = "bold green" if s == result.settings else None
        table.add_row(f"{s.average_ms} ms", f"{s.threshold:g}", f"{s.suppression_ms} ms", f"{score.far_per_hour:.2f}",
                      f"{100 * score.frr:.1f}%", f"{100 * score.wrong_keyword_rate:.1f}%", style=chosen)
    return table


def chosen_table(calibration: Any) -> Table:
    """The chosen setting on the validation stream (where it was chosen) and the test stream (the report)."""
    result = calibration.result
    table = Table(title=f"Chosen: {_settings_text(result.settings)} (target <= {result.target_far_per_hour:g} FA/h)")
    for column in ("stream", "hours", "keywords", "hits", "substitutions", "false activations", "FAR/h", "FRR",
                   "wrong keyword"):
        table.add_column(column, justify="left" if column == "stream" else "right")
    for name, score in (("validation", result.validation), ("test", result.test)):
        table.add_row(name, f"{score.hours:.2f}", str(score.keywords), str(score.hits), str(score.substitutions),
                      str(score.false_activations), f"{score.far_per_hour:.2f}", f"{100 * score.frr:.1f}%",
                      f"{100 * score.wrong_keyword_rate:.1f}%")
    return table
