"""The detection rule: hand-checked cases, and the C post-processing giving the very detections Python gives."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from kwsauto.errors import ConfigError
from kwsauto.export import CPostprocess, DetectionSettings, fires, write_postprocess
from kwsauto.streaming import average_scores, detect, detect_hops

LABELS = ("yes", "unknown", "no", "_background_noise_", "_silence_", "noise", "_unknown_")
SCALE, ZERO = 1 / 256, -128  # a kwsauto softmax output: q = -128 is 0, q = 127 is ~1


def _q(p: float) -> int:
    return int(np.clip(round(p / SCALE) + ZERO, -128, 127))


def test_non_keyword_labels_never_fire():
    assert fires(LABELS) == (True, False, True, False, False, False, False)
    scores = np.full((20, len(LABELS)), _q(0.0), np.int8)
    scores[:, 1] = scores[:, 3] = scores[:, 6] = _q(0.99)  # unknown and noise certain all along
    settings = DetectionSettings(hop_ms=100, average_ms=100, threshold=0.5, suppression_ms=0)
    assert detect(scores, LABELS, settings, output_scale=SCALE, output_zero_point=ZERO, window_s=1.0) == []


def test_average_threshold_and_suppression_by_hand():
    scores = np.full((30, len(LABELS)), _q(0.0), np.int8)
    scores[5:8, 0] = _q(0.9)  # three hops of "yes"
    scores[9, 2] = _q(0.9)  # one hop of "no", inside the suppression after "yes"
    scores[25, 2] = _q(0.9)  # one hop of "no" later: averaged over 3 hops it stays below 0.5
    settings = DetectionSettings(hop_ms=100, average_ms=300, threshold=0.5, suppression_ms=1000)
    found = detect(scores, LABELS, settings, output_scale=SCALE, output_zero_point=ZERO, window_s=1.0)
    # hop 6: "yes" averaged over hops 4-6 is (0 + 0.9 + 0.9) / 3 = 0.6 >= 0.5; it ends at 1.0 + 0.6 s
    assert [(d.time_s, d.label) for d in found] == [(1.6, "yes")]
    assert found[0].score == pytest.approx(SCALE * ((2 * _q(0.9) + _q(0.0)) / 3 - ZERO))
    shorter = DetectionSettings(hop_ms=100, average_ms=100, threshold=0.5, suppression_ms=200)
    found = detect(scores, LABELS, shorter, output_scale=SCALE, output_zero_point=ZERO, window_s=1.0)
    # every hop above 0.5, but two hops ignored after each report: 5, 7 ("yes"), 9 ("no"), 25 ("no")
    assert [(round(d.time_s, 1), d.label) for d in found] == [(1.5, "yes"), (1.7, "yes"), (1.9, "no"), (3.5, "no")]


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="multiple of hop_ms"):
        DetectionSettings(hop_ms=100, average_ms=250)
    with pytest.raises(ConfigError, match=r"threshold must be a score in \(0, 1\]"):
        DetectionSettings(threshold=1.5)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
@pytest.mark.parametrize("settings", [
    DetectionSettings(hop_ms=100, average_ms=300, threshold=0.6, suppression_ms=1000),
    DetectionSettings(hop_ms=50, average_ms=50, threshold=0.3, suppression_ms=0),
    DetectionSettings(hop_ms=20, average_ms=400, threshold=0.45, suppression_ms=130),
])
def test_c_and_python_give_identical_detections(settings, tmp_path):
    rng = np.random.default_rng(settings.average_ms)
    # scores that wander: a random walk per class, so averages cross the threshold often and tie sometimes
    walk = np.cumsum(rng.integers(-40, 41, size=(3000, len(LABELS))), axis=0)
    scores = np.clip(walk % 300 - 150, -128, 127).astype(np.int8)
    scores[100:120] = scores[100]  # equal rows: equal averages, the first of equal maxima wins in both
    scale, zero = 0.00390625, -128
    write_postprocess(tmp_path, LABELS, scale, zero, settings)
    c_reports = CPostprocess(tmp_path).run(scores)
    averages = average_scores(scores, settings.average_hops, scale, zero)
    py_reports = detect_hops(averages, fires(LABELS), settings.threshold, settings.suppression_hops)
    assert len(py_reports) > 20
    assert c_reports == py_reports  # hop, label and the average itself, bit for bit
    header = (tmp_path / "kws_postprocess.h").read_text()
    assert f"#define KWS_PP_AVERAGE_HOPS {settings.average_hops}" in header
    assert f"#define KWS_PP_THRESHOLD {settings.threshold!r}" in header
