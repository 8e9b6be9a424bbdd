"""Hits, substitutions and false activations exactly as the README defines them."""

from __future__ import annotations

import pytest

from kwsauto.streaming import Detection, KeywordEvent, score_detections

EVENTS = (KeywordEvent("yes", 10.0, 11.0), KeywordEvent("no", 20.0, 21.0), KeywordEvent("yes", 30.0, 31.0))


def test_hit_substitution_and_false_activation():
    detections = [
        Detection(9.9, "yes", 0.9),  # before the clip starts: false activation
        Detection(10.5, "yes", 0.9),  # hit
        Detection(12.4, "yes", 0.9),  # the same keyword again within 1.5 s of its end: false activation
        Detection(20.5, "yes", 0.9),  # wrong label within the span of "no": substitution
        Detection(22.5, "no", 0.9),  # and the right one after it, 1.5 s after the clip: still a hit
        Detection(32.6, "yes", 0.9),  # 1.6 s after the clip's end: false activation (the third keyword missed)
    ]
    score = score_detections(detections, EVENTS, hours=0.5)
    assert (score.hits, score.substitutions, score.false_activations) == (2, 1, 3)
    assert score.far_per_hour == pytest.approx(6.0)
    assert score.frr == pytest.approx(1 / 3)
    assert score.wrong_keyword_rate == pytest.approx(1 / 3)


def test_the_end_of_the_tolerance_counts():
    score = score_detections([Detection(32.5, "yes", 0.8)], EVENTS, hours=1.0)
    assert (score.hits, score.false_activations, score.frr) == (1, 0, pytest.approx(2 / 3))
