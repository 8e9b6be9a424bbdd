"""Datasets: layouts on disk, audio decoding, speaker-disjoint splits and the built-in demo set."""

from kwsauto.data._audio import fit_to_window, read_clip
from kwsauto.data._checks import MIN_SPEAKERS, DataReport, check_dataset
from kwsauto.data._index import SPLITS, Clip, ClipIndex
from kwsauto.data._layouts import NOISE_LABEL, UNKNOWN_LABEL, DatasetOptions, load_dataset
from kwsauto.data._split import DEFAULT_SPEAKER_PATTERNS, speaker_of, speaker_split

__all__ = [
    "SPLITS",
    "Clip",
    "ClipIndex",
    "DataReport",
    "MIN_SPEAKERS",
    "check_dataset",
    "DatasetOptions",
    "DEFAULT_SPEAKER_PATTERNS",
    "NOISE_LABEL",
    "UNKNOWN_LABEL",
    "fit_to_window",
    "load_dataset",
    "read_clip",
    "speaker_of",
    "speaker_split",
]
