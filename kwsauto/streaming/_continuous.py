"""Continuous audio built from a dataset split's clips, with the ground truth kept: what calibration scores on.

Keyword clips at random gaps and gains, the split's non-keyword words (``unknown``) and silence between them, and
background noise under all of it at several SNRs, a stretch at a time. The same index, split and seed give the
same audio and events.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from kwsauto.data import ClipIndex, read_clip
from kwsauto.errors import DataError
from kwsauto.export import NON_KEYWORD_LABELS

__all__ = ["NOISE_SNRS_DB", "ContinuousStream", "KeywordEvent", "StreamRecipe", "build_stream"]

_LOGGER = logging.getLogger(__name__)
NOISE_SNRS_DB = (20.0, 10.0, 5.0)  # background noise under the speech, one of these per stretch
_NOISE_STRETCH_S = 20.0


@dataclass(frozen=True)
class KeywordEvent:
    """A keyword clip placed in the stream: its label and where the clip starts and ends."""

    label: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class StreamRecipe:
    """How a stream is built. ``max_keywords`` caps the keyword clips taken from the split (None: all of them);
    as many non-keyword words are placed between them (``unknown_per_keyword`` each, as far as the split has)."""

    seed: int = 0
    max_keywords: int | None = None
    unknown_per_keyword: float = 1.0
    gap_s: tuple[float, float] = (0.5, 3.0)  # silence before each clip
    after_keyword_s: float = 1.5  # at least this much after a keyword, so its scoring window holds nothing else
    gain_db: tuple[float, float] = (-6.0, 3.0)
    snrs_db: tuple[float, ...] = NOISE_SNRS_DB


@dataclass(frozen=True)
class ContinuousStream:
    """Mono float audio ``[samples]`` at ``sample_rate_hz`` and the keyword events in it."""

    audio: np.ndarray
    sample_rate_hz: int
    events: tuple[KeywordEvent, ...]
    split: str
    words: int  # non-keyword words placed

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate_hz

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0

    def blocks(self, seconds: float = 30.0) -> list[np.ndarray]:
        step = int(seconds * self.sample_rate_hz)
        return [self.audio[i : i + step] for i in range(0, len(self.audio), step)]


def build_stream(
    index: ClipIndex,
    split: str,
    keywords: Sequence[str],
    sample_rate_hz: int,
    recipe: StreamRecipe = StreamRecipe(),
    noise_files: Sequence[Path] = (),
) -> ContinuousStream:
    """The continuous stream of ``split``: its clips labelled one of ``keywords``, and its non-keyword words."""
    rng = np.random.default_rng([recipe.seed, sum(map(ord, split))])
    clips = index.split(split)
    keyword_clips = [c for c in clips if c.label in set(keywords)]
    unknown_clips = [c for c in clips if c.label.lower() in NON_KEYWORD_LABELS and c.offset_s == 0.0
                     and c.path not in set(index.noise_files)]
    if not keyword_clips:
        raise DataError(
            f"The {split} split of {index.root} has no clip of the model's keywords {list(keywords)}; "
            "give the dataset the model was trained on (--data)."
        )
    if recipe.max_keywords is not None and recipe.max_keywords < len(keyword_clips):
        keyword_clips = [keyword_clips[i] for i in sorted(rng.choice(len(keyword_clips), recipe.max_keywords, False))]
    n_unknown = min(len(unknown_clips), int(round(len(keyword_clips) * recipe.unknown_per_keyword)))
    unknown_clips = [unknown_clips[i] for i in sorted(rng.choice(len(unknown_clips), n_unknown, False))]
    items = [(c, True) for c in keyword_clips] + [(c, False) for c in unknown_clips]
    order = rng.permutation(len(items))
    pieces: list[np.ndarray] = []
    events: list[KeywordEvent] = []
    position, levels = 0, []
    for i in order:
        clip, is_keyword = items[int(i)]
        wave = read_clip(clip.path, sample_rate_hz=sample_rate_hz).numpy()
        gain = 10 ** (rng.uniform(*recipe.gain_db) / 20)
        gap = int(rng.uniform(*recipe.gap_s) * sample_rate_hz)
        pieces += [np.zeros(gap, np.float32), (wave * gain).astype(np.float32)]
        start = position + gap
        position = start + len(wave)
        levels.append(_active_rms(wave * gain))
        if is_keyword:
            events.append(KeywordEvent(clip.label, start / sample_rate_hz, position / sample_rate_hz))
            rest = int(recipe.after_keyword_s * sample_rate_hz)
            pieces.append(np.zeros(rest, np.float32))
            position += rest
    pieces.append(np.zeros(int(recipe.gap_s[1] * sample_rate_hz), np.float32))
    audio = np.concatenate(pieces)
    if noise_files:
        audio += _noise_bed(noise_files, len(audio), sample_rate_hz, float(np.median(levels)), recipe.snrs_db, rng)
    else:
        _LOGGER.warning("No background-noise recordings: the %s stream is speech and silence only.", split)
    return ContinuousStream(np.clip(audio, -1.0, 1.0), sample_rate_hz, tuple(events), split, len(unknown_clips))


def _active_rms(wave: np.ndarray) -> float:
    """RMS of the loudest half of 10 ms frames: the speech level, not the silence around it."""
    frames = wave[: len(wave) // 160 * 160].reshape(-1, 160)
    if not len(frames):
        return float(np.sqrt(np.mean(np.square(wave)) + 1e-12))
    energy = np.sort(np.mean(np.square(frames), axis=1))[len(frames) // 2 :]
    return float(np.sqrt(np.mean(energy) + 1e-12))


def _noise_bed(
    files: Sequence[Path], samples: int, rate: int, speech_rms: float, snrs_db: Sequence[float],
    rng: np.random.Generator,
) -> np.ndarray:
    """Background noise ``[samples]``: stretches cut from random recordings, each at one of ``snrs_db``."""
    recordings = []
    for path in files:
        try:
            data, native = sf.read(str(path), dtype="float32", always_2d=True)
        except Exception as exc:
            raise DataError(f"Cannot read background-noise file {path}: {str(exc).splitlines()[0][:100]}.") from None
        mono = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))
        if native != rate:
            mono = AF.resample(mono, int(native), int(rate))
        if len(mono) >= rate:
            recordings.append(mono.numpy())
    bed = np.zeros(samples, np.float32)
    if not recordings:
        return bed
    stretch = int(_NOISE_STRETCH_S * rate)
    for begin in range(0, samples, stretch):
        length = min(stretch, samples - begin)
        source = recordings[int(rng.integers(len(recordings)))]
        reps = -(-(length + len(source)) // len(source))
        offset = int(rng.integers(len(source)))
        piece = np.tile(source, reps)[offset : offset + length]
        rms = float(np.sqrt(np.mean(np.square(piece)) + 1e-12))
        snr = float(snrs_db[int(rng.integers(len(snrs_db)))])
        bed[begin : begin + length] = piece * (speech_rms / 10 ** (snr / 20) / rms)
    return bed
