"""Streaming: sliding-window scoring of long recordings, the detection rule (the same as the C post-processing),
continuous test streams built from a dataset, and performance calibration (FAR/h, FRR)."""

from kwsauto.streaming._calibrate import (
    AVERAGE_MS,
    SUPPRESSION_MS,
    THRESHOLDS,
    CalibrationResult,
    SweepRow,
    choose_setting,
    sweep,
)
from kwsauto.streaming._continuous import (
    NOISE_SNRS_DB,
    ContinuousStream,
    KeywordEvent,
    StreamRecipe,
    build_stream,
)
from kwsauto.streaming._rule import Detection, average_scores, check_keywords, detect, detect_hops
from kwsauto.streaming._scorer import ScoreTrack, SlidingScorer
from kwsauto.streaming._scoring import HIT_TOLERANCE_S, StreamScore, score_detections

__all__ = [
    "AVERAGE_MS",
    "HIT_TOLERANCE_S",
    "NOISE_SNRS_DB",
    "SUPPRESSION_MS",
    "THRESHOLDS",
    "CalibrationResult",
    "ContinuousStream",
    "Detection",
    "KeywordEvent",
    "ScoreTrack",
    "SlidingScorer",
    "StreamRecipe",
    "StreamScore",
    "SweepRow",
    "average_scores",
    "build_stream",
    "check_keywords",
    "choose_setting",
    "detect",
    "detect_hops",
    "score_detections",
    "sweep",
]
