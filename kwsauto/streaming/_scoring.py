"""Scoring detections against a stream's ground truth: hits, substitutions, false activations; FAR/h and FRR.

A detection is a **hit** when its label is the keyword's and its time falls between the start of the keyword's
clip and ``HIT_TOLERANCE_S`` after the clip's end (one hit per keyword); a detection with another label in that
span is a **substitution**; every other detection (outside every keyword's span, or a repeat of a keyword already
hit) is a **false activation**. FAR/h = false activations per hour of stream; FRR = keywords without a hit /
keywords; the wrong-keyword rate = substitutions / keywords.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from kwsauto.streaming._continuous import KeywordEvent
from kwsauto.streaming._rule import Detection

__all__ = ["HIT_TOLERANCE_S", "StreamScore", "score_detections"]

HIT_TOLERANCE_S = 1.5


@dataclass(frozen=True)
class StreamScore:
    """One setting on one stream."""

    keywords: int
    hits: int
    substitutions: int
    false_activations: int
    hours: float

    @property
    def far_per_hour(self) -> float:
        return self.false_activations / self.hours if self.hours > 0 else 0.0

    @property
    def frr(self) -> float:
        return (self.keywords - self.hits) / self.keywords if self.keywords else 0.0

    @property
    def wrong_keyword_rate(self) -> float:
        return self.substitutions / self.keywords if self.keywords else 0.0


def score_detections(detections: Sequence[Detection], events: Sequence[KeywordEvent], hours: float) -> StreamScore:
    """Match ``detections`` to ``events`` (keywords that do not overlap in time, as the stream builder places them)."""
    events = sorted(events, key=lambda e: e.start_s)
    starts = [e.start_s for e in events]
    hit = [False] * len(events)
    hits = substitutions = false = 0
    for det in sorted(detections, key=lambda d: d.time_s):
        i = bisect.bisect_right(starts, det.time_s) - 1
        # the latest keyword that started before the detection, if the detection is within its span
        if i >= 0 and det.time_s <= events[i].end_s + HIT_TOLERANCE_S:
            if det.label != events[i].label:
                substitutions += 1
            elif not hit[i]:
                hit[i] = True
                hits += 1
            else:
                false += 1
        else:
            false += 1
    return StreamScore(len(events), hits, substitutions, false, hours)
