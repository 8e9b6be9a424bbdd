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


_FLOAT_SUBTYPES = frozenset({"FLOAT", "DOUBLE"})  # the only sample formats that can hold NaN or infinity
_LONG_FILE_WINDOWS = 8  # a file longer than this many windows is scanned in blocks, not decoded whole


def probe_audio(path: Path) -> str | None:
    """Return why ``path`` cannot be used as audio, or None when soundfile reads its header.

    Floating-point files are also scanned (in blocks) for NaN or infinite samples, which would poison training.
    """
    if path.is_symlink() and not path.exists():
        return "a broken or looping symbolic link"
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises several types for a file it cannot read
        return f"not readable audio ({_reason(exc)})"
    if info.frames == 0:
        return "empty audio (0 frames)"
    if info.subtype in _FLOAT_SUBTYPES:
        try:
            for block in sf.blocks(str(path), blocksize=1 << 16, dtype="float32", always_2d=True):
                if not np.isfinite(block).all():
                    return "NaN or infinite samples"
        except Exception as exc:
            return f"not readable audio ({_reason(exc)})"
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
        if window_samples is not None:
            native = int(np.ceil(window_samples * info.samplerate / sample_rate_hz)) + 1
            if offset_s > 0:
                frames = native
            elif info.frames > _LONG_FILE_WINDOWS * native:  # read only around the loudest window
                start, frames = _loudest_window_start(path, native), native
        data, rate = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
    except Exception as exc:
        raise DataError(f"Cannot decode audio file {path}: {_reason(exc)}. Remove or replace it.") from exc
    if len(data) == 0:
        raise DataError(f"Audio file {path} holds no samples (0 frames); remove or replace it.")
    if not np.isfinite(data).all():
        raise DataError(f"Audio file {path} has NaN or infinite samples; remove or repair it.")
    wave = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))  # [samples], channels mixed down
    if rate != sample_rate_hz:
        wave = AF.resample(wave, int(rate), int(sample_rate_hz))
    if window_samples is not None:
        wave = fit_to_window(wave, window_samples)
    return wave


def _reason(exc: Exception) -> str:
    """soundfile's message without the file name it repeats: "Error opening 'x.wav': Format not recognised."."""
    lines = str(exc).splitlines()
    return (lines[0].rsplit("': ", 1)[-1].rstrip(".") if lines else type(exc).__name__)[:120]


def _loudest_window_start(path: Path, window: int) -> int:
    """The first frame of the loudest ``window``-frame stretch of a long file, found a block at a time (memory
    bounded whatever the file's length; to the nearest eighth of a window)."""
    hop = max(1, window // 8)
    energies = np.array([
        float(np.square(block.mean(axis=1), dtype=np.float64).sum())
        for block in sf.blocks(str(path), blocksize=hop, dtype="float32", always_2d=True)
    ])  # [n_hops]
    per_window = np.convolve(energies, np.ones(8), mode="valid") if len(energies) >= 8 else energies.sum(keepdims=True)
    return int(np.argmax(per_window)) * hop


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
