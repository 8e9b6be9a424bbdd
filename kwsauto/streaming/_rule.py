"""The detection rule in Python: int8 class scores every hop → detections, exactly as ``kws_postprocess.c`` does.

See :mod:`kwsauto.export._postprocess` for the rule; this is its vectorized twin (the averages of every hop at
once from a cumulative integer sum; only the hops above the threshold are walked for the suppression).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kwsauto.errors import ConfigError
from kwsauto.export import DetectionSettings, fires

__all__ = ["Detection", "average_scores", "check_keywords", "detect", "detect_hops"]


@dataclass(frozen=True)
class Detection:
    """A keyword reported at ``time_s``: the end of the window in which its average reached the threshold."""

    time_s: float
    label: str
    score: float


def check_keywords(labels: tuple[str, ...], where: object) -> tuple[bool, ...]:
    """The labels' fire mask; a one-line error when ``where`` (a model) has no labels or no keyword among them."""
    if not labels:
        raise ConfigError(f"{where} carries no labels (no card.json, no kwsauto metadata); export it with kwsauto.")
    mask = fires(labels)
    if not any(mask):
        raise ConfigError(
            f"{where} has no keyword among its labels {list(labels)} (unknown, noise and silence never fire); "
            "train it with at least one keyword."
        )
    return mask


def average_scores(scores: np.ndarray, average_hops: int, scale: float, zero_point: int) -> np.ndarray:
    """Each hop's average score per class over the last ``average_hops`` hops (fewer at the start), in double:
    ``scale * (sum / n - zero_point)`` from the exact integer sum, as the C computes it. ``[hops, classes]``."""
    csum = np.cumsum(scores.astype(np.int64), axis=0)  # [hops, classes]
    sums = csum.copy()
    sums[average_hops:] -= csum[:-average_hops]
    n = np.minimum(np.arange(1, len(scores) + 1), average_hops).astype(np.float64)[:, None]
    return scale * (sums / n - float(zero_point))


def detect_hops(
    averages: np.ndarray, mask: tuple[bool, ...], threshold: float, suppression_hops: int
) -> list[tuple[int, int, float]]:
    """``(hop, class, average)`` of every report, given the averages of :func:`average_scores`."""
    keyword = np.where(np.asarray(mask)[None, :], averages, -np.inf)
    best = keyword.argmax(axis=1)  # the first of equal maxima, as the C's strict ">"
    best_avg = keyword[np.arange(len(keyword)), best]
    candidates = np.flatnonzero(best_avg >= threshold)
    out: list[tuple[int, int, float]] = []
    position, step = 0, max(suppression_hops, 1)
    while position < len(candidates):
        hop = int(candidates[position])
        out.append((hop, int(best[hop]), float(best_avg[hop])))
        position = int(np.searchsorted(candidates, hop + step))
    return out


def detect(
    scores: np.ndarray,
    labels: tuple[str, ...],
    settings: DetectionSettings,
    *,
    output_scale: float,
    output_zero_point: int,
    window_s: float,
) -> list[Detection]:
    """Detections in int8 ``scores`` ``[hops, classes]`` taken every ``settings.hop_ms`` over windows of
    ``window_s`` seconds (hop ``i`` ends at ``window_s + i * hop``)."""
    if scores.ndim != 2 or scores.shape[1] != len(labels):
        raise ConfigError(f"Need scores [hops, {len(labels)}] for labels {list(labels)}, but got shape {scores.shape}.")
    if len(scores) == 0:
        return []
    mask = check_keywords(labels, "the model")
    averages = average_scores(scores, settings.average_hops, output_scale, output_zero_point)
    hop_s = settings.hop_ms / 1000.0
    return [
        Detection(round(window_s + hop * hop_s, 6), labels[label], score)
        for hop, label, score in detect_hops(averages, mask, settings.threshold, settings.suppression_hops)
    ]
