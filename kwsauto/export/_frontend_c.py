"""The device front end: ``kws_frontend.h/.c``, the model's MFE/MFCC in C99, generated from its FeatureConfig.

The tables (Hann window, sparse mel filterbank, DCT-II, twiddles) are computed by the very code training uses
(``torch.hann_window``, ``torchaudio.functional.melscale_fbanks``, the extractor's DCT matrix) and written as
``const float`` arrays with every float32 bit kept, so C and training differ only in the order floats are
summed (FFT, mel and DCT sums): at most one int8 step, on elements that fall within rounding of a step boundary.
The fixed C code lives in ``c/*.in`` beside this module; ``@@NAME@@`` marks what is generated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torchaudio

from kwsauto._io import atomic_write_text
from kwsauto.errors import ConfigError
from kwsauto.features import FeatureConfig
from kwsauto.features._extract import _dct_matrix

__all__ = ["FRONTEND_FILES", "MAX_FFT_LENGTH", "InputQuant", "check_expressible", "frontend_sources", "write_frontend"]

FRONTEND_FILES = ("kws_frontend.h", "kws_frontend.c")
MAX_FFT_LENGTH = 4096  # CMSIS-DSP's arm_rfft_fast_f32 goes up to 4096 points
_MFE_DIVISOR = 12.0  # MFE: (dB - floor) / (-floor + 12), as FeatureExtractor scales it
_MFCC_DIVISOR = 20.0  # MFCC: (cepstrum - window mean) / 20
_PER_LINE = 6


@dataclass(frozen=True)
class InputQuant:
    """The model input's int8 quantization, ``real = scale * (q - zero_point)``."""

    scale: float
    zero_point: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"Input scale must be a positive finite number, but got scale={self.scale!r}.")
        if not -128 <= self.zero_point <= 127:
            raise ConfigError(f"Input zero point must be an int8 in [-128, 127], but got {self.zero_point}.")


def check_expressible(config: FeatureConfig) -> None:
    """Raise :class:`ConfigError` for a feature config the generated C cannot compute as training does."""
    if config.fft_length > MAX_FFT_LENGTH:
        raise ConfigError(
            f"The C front end supports fft_length up to {MAX_FFT_LENGTH} (CMSIS-DSP's limit), but the model has "
            f"fft_length={config.fft_length}; train with a shorter FFT."
        )
    if config.frame_stride_samples < 1 or config.frame_length_samples < 1:
        raise ConfigError(
            f"frame_length_s={config.frame_length_s} and frame_stride_s={config.frame_stride_s} must each be at least "
            f"one sample at {config.sample_rate_hz} Hz for the C front end; use longer frames."
        )
    for name in ("low_hz", "high_hz", "noise_floor_db"):
        if not math.isfinite(getattr(config, name)):
            raise ConfigError(f"The C front end needs a finite {name}, but the model has {name}={getattr(config, name)}.")
    if config.noise_floor_db >= _MFE_DIVISOR:
        raise ConfigError(
            f"noise_floor_db must be below {_MFE_DIVISOR:g} dB (MFE divides by -floor + 12), but got "
            f"{config.noise_floor_db}; use a negative floor such as -52."
        )


def frontend_sources(config: FeatureConfig, quant: InputQuant) -> dict[str, str]:
    """``{"kws_frontend.h": text, "kws_frontend.c": text}`` for ``config`` quantized with ``quant``."""
    check_expressible(config)
    template = resources.files("kwsauto.export") / "c"
    header = (template / "kws_frontend.h.in").read_text(encoding="utf-8")
    source = (template / "kws_frontend.c.in").read_text(encoding="utf-8")
    mfcc = config.kind == "mfcc"
    header = (
        header.replace("@@KIND_NAME@@", config.kind.upper())
        .replace("@@SUMMARY@@", _summary(config, quant))
        .replace("@@DCT_NOTE@@", ", DCT" if mfcc else "")
        .replace("@@MACROS@@", _macros(config, quant))
    )
    return {"kws_frontend.h": header, "kws_frontend.c": source.replace("@@TABLES@@", _tables(config))}


def write_frontend(folder: Path, config: FeatureConfig, quant: InputQuant) -> tuple[Path, ...]:
    """Write ``kws_frontend.h/.c`` into ``folder``; both are generated before either is written."""
    sources = frontend_sources(config, quant)
    paths = tuple(Path(folder) / name for name in sources)
    for path, text in zip(paths, sources.values()):
        atomic_write_text(path, text)
    return paths


def _summary(config: FeatureConfig, quant: InputQuant) -> str:
    params = ", ".join(f"{k}={v}" for k, v in config.to_dict().items())
    return (
        f"FeatureConfig({params});\n * input quantization: scale {_float(quant.scale)}, zero point {quant.zero_point}."
    )


def _window_geometry(config: FeatureConfig) -> tuple[int, int]:
    """Hann window length and its offset in the FFT frame: torch.stft centres a shorter window with zeros."""
    win_length = min(config.frame_length_samples, config.fft_length)
    return win_length, (config.fft_length - win_length) // 2


def _macros(config: FeatureConfig, quant: InputQuant) -> str:
    win_length, offset = _window_geometry(config)
    rows = [
        ("KWS_MFCC", int(config.kind == "mfcc"), "1: MFCC, 0: MFE"),
        ("KWS_SAMPLE_RATE", config.sample_rate_hz, "Hz; push PCM at exactly this rate"),
        ("KWS_WINDOW_SAMPLES", config.window_samples, "samples of one model window"),
        ("KWS_FFT_LENGTH", config.fft_length, "samples per frame (the FFT length)"),
        ("KWS_WIN_LENGTH", win_length, "Hann window length within the frame"),
        ("KWS_WIN_OFFSET", offset, "first windowed sample of the frame"),
        ("KWS_HOP_SAMPLES", config.frame_stride_samples, "samples between frame starts"),
        ("KWS_N_FILTERS", config.n_filters, "mel filters"),
        ("KWS_N_FRAMES", config.n_frames, "frames per window (rows of the input tensor)"),
        ("KWS_N_FEATURES", config.n_features, "coefficients per frame (columns of the input tensor)"),
        ("KWS_FRONTEND_INPUT_SIZE", config.n_frames * config.n_features, "int8 values of the model input"),
        ("KWS_INPUT_SCALE", _float(quant.scale), "model input: real = scale * (q - zero point)"),
        ("KWS_INPUT_ZERO_POINT", f"({quant.zero_point})", ""),
        ("KWS_NOISE_FLOOR_DB", _float(config.noise_floor_db), "dB"),
        ("KWS_MFE_DIVISOR", _float(-config.noise_floor_db + _MFE_DIVISOR), "MFE: (dB - floor) / this"),
        ("KWS_MFCC_DIVISOR", _float(_MFCC_DIVISOR), "MFCC: (cepstrum - window mean) / this"),
    ]
    return "\n".join(f"#define {name} {value}" + (f" /* {note} */" if note else "") for name, value, note in rows)


def _float(value: float) -> str:
    """A C float literal that parses to exactly ``np.float32(value)``."""
    text = repr(float(np.float32(value)))
    if "e" not in text and "." not in text and "inf" not in text:
        text += ".0"
    return f"{text}f"


def _array(ctype: str, name: str, values: np.ndarray | list) -> str:
    items = [_float(v) for v in values] if ctype == "float" else [str(int(v)) for v in values]
    lines = ["    " + ", ".join(items[i : i + _PER_LINE]) + "," for i in range(0, len(items), _PER_LINE)]
    return f"static const {ctype} {name}[{len(items)}] = {{\n" + "\n".join(lines) + "\n};"


def _tables(config: FeatureConfig) -> str:
    win_length, _ = _window_geometry(config)
    window = torch.hann_window(win_length).numpy()  # torchaudio's Spectrogram default: periodic Hann, float32
    fbanks = torchaudio.functional.melscale_fbanks(
        config.fft_length // 2 + 1,
        config.low_hz,
        config.high_hz or config.sample_rate_hz / 2,
        config.n_filters,
        config.sample_rate_hz,
        norm="slaney",
        mel_scale="htk",
    ).numpy()  # [bins, filters] float32, as MelSpectrogram builds it
    first, count, offset, weights = [], [], [], []
    for m in range(config.n_filters):
        nonzero = np.flatnonzero(fbanks[:, m])
        lo, hi = (int(nonzero[0]), int(nonzero[-1]) + 1) if len(nonzero) else (0, 0)
        first.append(lo)
        count.append(hi - lo)
        offset.append(len(weights))
        weights.extend(fbanks[lo:hi, m].tolist())
    k = np.arange(config.fft_length // 2)
    angle = 2 * np.pi * k / config.fft_length
    twiddle = np.stack([np.cos(angle), -np.sin(angle)], axis=1).reshape(-1)  # W_N^k = exp(-2 pi i k / N)
    parts = [
        "/* periodic Hann window (torch.hann_window) */",
        _array("float", "kws_window", window),
        "/* mel filterbank (torchaudio melscale_fbanks, HTK mel, Slaney norm), by filter: first FFT bin, bins, */",
        "/* offset of its weights in kws_mel_weights */",
        _array("uint16_t", "kws_mel_first_bin", first),
        _array("uint16_t", "kws_mel_bins", count),
        _array("uint32_t", "kws_mel_offset", offset),
        _array("float", "kws_mel_weights", np.asarray(weights, dtype=np.float32) if weights else [0.0]),
    ]
    if config.kind == "mfcc":
        dct = _dct_matrix(config.n_filters, config.n_coefficients).numpy().T  # [coeffs, filters]
        parts += ["/* orthonormal DCT-II basis, [coefficients][filters] */", _array("float", "kws_dct", dct.reshape(-1))]
    parts += [
        "#ifndef KWS_USE_CMSIS_DSP",
        "/* FFT twiddles W_N^k = (cos, -sin)(2 pi k / N), k < N/2 */",
        _array("float", "kws_twiddle", twiddle),
        "#endif",
    ]
    return "\n".join(parts)
