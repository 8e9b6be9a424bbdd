"""Performance calibration: sweep averaging window x threshold x suppression on stored scores, choose on the
validation stream, report on the test stream.

The model runs over each stream once (:class:`~kwsauto.streaming.SlidingScorer`); every setting is then only
:func:`~kwsauto.streaming.detect` on the stored int8 scores, so a sweep of hundreds of settings takes seconds.
The chosen setting has the lowest validation FRR among those whose validation FAR/h is at most the target
(ties: fewer false activations, then the higher threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kwsauto.errors import ConfigError
from kwsauto.export import DetectionSettings
from kwsauto.streaming._continuous import ContinuousStream
from kwsauto.streaming._rule import Detection, average_scores, check_keywords, detect_hops
from kwsauto.streaming._scorer import ScoreTrack
from kwsauto.streaming._scoring import StreamScore, score_detections

__all__ = [
    "AVERAGE_MS",
    "SUPPRESSION_MS",
    "THRESHOLDS",
    "CalibrationResult",
    "SweepRow",
    "choose_setting",
    "sweep",
]

AVERAGE_MS = (100, 200, 300, 500, 800)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98)
SUPPRESSION_MS = (500, 1000, 1500, 2000)


@dataclass(frozen=True)
class SweepRow:
    """One setting of the sweep and how it did on a stream."""

    settings: DetectionSettings
    score: StreamScore


@dataclass(frozen=True)
class CalibrationResult:
    """The chosen setting, its validation and test scores, the whole validation sweep, and the scorer's speed."""

    settings: DetectionSettings
    target_far_per_hour: float
    validation: StreamScore
    test: StreamScore
    rows: tuple[SweepRow, ...]
    seed: int
    real_time_factor: float


def sweep(
    track: ScoreTrack,
    stream: ContinuousStream,
    *,
    average_ms: Sequence[int] = AVERAGE_MS,
    thresholds: Sequence[float] = THRESHOLDS,
    suppression_ms: Sequence[int] = SUPPRESSION_MS,
) -> list[SweepRow]:
    """Every setting of the grid (averages that are not whole hops left out) scored on ``stream``."""
    mask = check_keywords(track.labels, "the model")
    rows = []
    for avg in (a for a in average_ms if a % track.hop_ms == 0):
        averages = average_scores(track.scores, avg // track.hop_ms, track.output_scale, track.output_zero_point)
        for threshold in thresholds:
            for suppression in suppression_ms:
                settings = DetectionSettings(track.hop_ms, avg, float(threshold), int(suppression))
                detections = [
                    Detection(track.window_s + hop * track.hop_ms / 1000.0, track.labels[label], score)
                    for hop, label, score in detect_hops(averages, mask, settings.threshold, settings.suppression_hops)
                ]
                rows.append(SweepRow(settings, score_detections(detections, stream.events, stream.hours)))
    if not rows:
        raise ConfigError(
            f"No averaging window of {list(average_ms)} ms is a whole number of {track.hop_ms} ms hops; "
            "use a hop that divides them, such as 100."
        )
    return rows


def choose_setting(rows: Sequence[SweepRow], target_far_per_hour: float) -> SweepRow:
    """The lowest-FRR row with FAR/h at most the target; none: a one-line error naming the closest setting."""
    meeting = [r for r in rows if r.score.far_per_hour <= target_far_per_hour]
    if not meeting:
        closest = min(rows, key=lambda r: (r.score.far_per_hour, r.score.frr))
        s = closest.settings
        raise ConfigError(
            f"No setting reaches `target_far` {target_far_per_hour:g} false activations per hour on the validation "
            f"stream; closest: average {s.average_ms} ms, threshold {s.threshold:g}, suppression {s.suppression_ms} ms "
            f"with {closest.score.far_per_hour:.2f} FA/h (FRR {closest.score.frr:.1%}); raise `target_far` or "
            "train a stronger model."
        )
    return min(meeting, key=lambda r: (r.score.frr, r.score.false_activations, -r.settings.threshold,
                                       r.settings.average_ms, r.settings.suppression_ms))
