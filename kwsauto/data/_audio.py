"""Reading clips: any format soundfile decodes, mixed to mono, resampled to the model's rate, fitted to the window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from kwsauto.errors import DataError

__all__ = ["AUDIO_SUFFIXES", "probe_audio", "read_clip", "fit_to_window"]

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au", ".mp3", ".opus"})


def probe_audio(path: Path) -> str | None:
    """Return why ``path`` cannot be used as audio, or None when soundfile reads its header."""
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises several types for a file it cannot read
        return f"not readable audio ({str(exc).splitlines()[0][:80]})"
    if info.frames == 0:
        return "empty audio (0 frames)"
    return None


def read_clip(
    path: Path,
    *,
    sample_rate_hz: int = 16000,
    window_samples: int | None = None,
    offset_s: float = 0.0,
) -> torch.Tensor:
    """Decode ``path`` to a float32 mono waveform ``[samples]`` at ``sample_rate_hz``.

    ``offset_s`` starts reading later (noise windows cut from a long recording). With ``window_samples`` the
    result is padded or cropped to exactly that many samples (see :func:`fit_to_window`).
    """
    try:
        info = sf.info(str(path))
        start = int(round(offset_s * info.samplerate))
        frames = -1
        if window_samples is not None and offset_s > 0:
            frames = int(np.ceil(window_samples * info.samplerate / sample_rate_hz)) + 1
        data, rate = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
    except Exception as exc:
        raise DataError(f"Cannot decode audio file {path}: {str(exc).splitlines()[0]}. Remove or replace it.") from exc
    wave = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))  # [samples], channels mixed down
    if rate != sample_rate_hz:
        wave = AF.resample(wave, int(rate), int(sample_rate_hz))
    if window_samples is not None:
        wave = fit_to_window(wave, window_samples)
    return wave


def fit_to_window(wave: torch.Tensor, window_samples: int) -> torch.Tensor:
    """Pad a short clip with silence on both sides; crop a long one to its loudest window.

    Centering keeps the keyword in the window (Speech Commands and FSDD clips are not aligned), and the
    loudest window of a long clip is where the word is.
    """
    n = wave.shape[-1]
    if n == window_samples:
        return wave
    if n < window_samples:
        left = (window_samples - n) // 2
        return torch.nn.functional.pad(wave, (left, window_samples - n - left))
    energy = torch.cumsum(torch.nn.functional.pad(wave.double() ** 2, (1, 0)), dim=0)
    window_energy = energy[window_samples:] - energy[:-window_samples]  # [n - window + 1]
    start = int(torch.argmax(window_energy))
    return wave[start : start + window_samples].contiguous()
