"""Sliding-window scoring of recordings of any length with the int8 model in LiteRT.

The audio is read in blocks (soundfile), so hours of it take bounded memory. Each feature frame is computed once
(the frames of a window are the frames of the stream that fall in it, since a hop is a whole number of frame
strides) and the window slides by ``hop_ms``: every hop one int8 input, one invoke, one row of int8 scores.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from kwsauto.errors import ConfigError, DataError
from kwsauto.export import tflite_io_quant
from kwsauto.export._verify import read_tflite_file
from kwsauto.features import FeatureConfig, FeatureExtractor

__all__ = ["BLOCK_SECONDS", "ScoreTrack", "SlidingScorer"]

BLOCK_SECONDS = 30.0  # audio read and featurized at a time


@dataclass(frozen=True)
class ScoreTrack:
    """The int8 scores ``[hops, classes]`` of one recording, one row per hop; row ``i`` is the window ending at
    ``window_s + i * hop_ms / 1000``. ``seconds`` is the time scoring took (``real_time_factor`` = it / ``audio_s``)."""

    scores: np.ndarray
    labels: tuple[str, ...]
    hop_ms: int
    window_s: float
    output_scale: float
    output_zero_point: int
    audio_s: float
    seconds: float

    @property
    def real_time_factor(self) -> float:
        return self.seconds / self.audio_s if self.audio_s > 0 else 0.0


class SlidingScorer:
    """One int8 .tflite model with its labels and features, ready to score recordings every ``hop_ms``."""

    def __init__(self, model: Path, labels: tuple[str, ...], features: FeatureConfig, hop_ms: int) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.model, self.labels, self.features, self.hop_ms = Path(model), tuple(labels), features, int(hop_ms)
        if self.model.suffix != ".tflite":
            raise ConfigError(f"Streaming runs the int8 .tflite model, but got {self.model}; give model_int8.tflite.")
        hop_samples = self.hop_ms * features.sample_rate_hz / 1000
        stride = features.frame_stride_samples
        if hop_samples != int(hop_samples) or int(hop_samples) % stride:
            raise ConfigError(
                f"`hop_ms` {self.hop_ms} is not a whole number of the model's {features.frame_stride_s * 1000:g} ms "
                f"frame strides; use a multiple of {features.frame_stride_s * 1000:g} ms, such as 100."
            )
        self.hop_frames = int(hop_samples) // stride
        (self.in_scale, self.in_zero), (self.out_scale, self.out_zero) = tflite_io_quant(self.model)
        self.extractor = FeatureExtractor(features)
        try:
            self.interpreter = Interpreter(
                model_content=read_tflite_file(self.model), num_threads=1,
                experimental_op_resolver_type=OpResolverType.BUILTIN_REF,  # TFLM's rounding, as verification uses
            )
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise ConfigError(f"LiteRT cannot load {self.model}: {' '.join(str(err).split())}.") from None
        self._in = self.interpreter.get_input_details()[0]
        self._out = self.interpreter.get_output_details()[0]
        if self._out["shape"][-1] != len(self.labels):
            raise ConfigError(
                f"{self.model} scores {self._out['shape'][-1]} classes, but its card lists {len(self.labels)} labels; "
                "export it again."
            )

    @property
    def window_s(self) -> float:
        return self.features.window_samples / self.features.sample_rate_hz

    def score_file(self, path: Path) -> ScoreTrack:
        """Score a recording on disk, read a block at a time (any format soundfile reads; resampled if needed)."""
        path = Path(path)
        try:
            info = sf.info(str(path))
        except Exception as exc:  # soundfile raises several types for a file it cannot read
            raise DataError(f"Cannot read audio file {path}: {str(exc).splitlines()[0][:100]}.") from None
        audio_s = info.frames / info.samplerate if info.samplerate else 0.0
        if audio_s < self.window_s:
            raise DataError(
                f"{path} is {audio_s:.2f} s long, shorter than one {self.window_s:g} s window of the model; "
                "give a longer recording."
            )
        return self.score_blocks(self._read_blocks(path, info.samplerate), audio_s=audio_s, name=str(path))

    def _read_blocks(self, path: Path, rate: int) -> Iterator[np.ndarray]:
        target = self.features.sample_rate_hz
        try:
            for block in sf.blocks(str(path), blocksize=int(BLOCK_SECONDS * rate), dtype="float32", always_2d=True):
                mono = block.mean(axis=1)  # [samples]
                if rate != target:
                    mono = AF.resample(torch.from_numpy(mono), int(rate), int(target)).numpy()
                yield mono
        except DataError:
            raise
        except Exception as exc:
            raise DataError(f"Cannot decode audio file {path}: {str(exc).splitlines()[0][:100]}.") from None

    def score_blocks(self, blocks: Iterable[np.ndarray], *, audio_s: float, name: str = "the stream") -> ScoreTrack:
        """Score mono float audio at the model's rate, given in consecutive blocks of any length."""
        started = time.perf_counter()
        cfg = self.features
        frame_len, stride = cfg.fft_length, cfg.frame_stride_samples  # torch.stft reads n_fft samples a frame
        carry = np.zeros(0, np.float32)
        frames: list[np.ndarray] = []  # the frames not yet behind every future window, [coeffs] each
        first = 0  # stream index of frames[0]
        next_window = 0  # stream frame index where the next window starts
        rows: list[np.ndarray] = []
        for block in blocks:
            audio = np.concatenate([carry, np.asarray(block, np.float32)])
            if not np.isfinite(audio).all():
                raise DataError(f"{name} has NaN or infinite samples; repair the recording.")
            n_new = 0 if len(audio) < frame_len else 1 + (len(audio) - frame_len) // stride
            if n_new:
                frames.extend(self._frames(audio[: (n_new - 1) * stride + frame_len]))
            carry = audio[n_new * stride :]
            while next_window + cfg.n_frames <= first + len(frames):
                window = np.stack(frames[next_window - first : next_window - first + cfg.n_frames])
                rows.append(self._invoke(window))
                next_window += self.hop_frames
            drop = min(next_window - first, len(frames))
            del frames[:drop]
            first += drop
        if not rows:
            raise DataError(
                f"{name} is shorter than one {self.window_s:g} s window of the model; give a longer recording."
            )
        scores = np.stack(rows)  # [hops, classes] int8
        return ScoreTrack(scores, self.labels, self.hop_ms, self.window_s, self.out_scale, self.out_zero,
                          audio_s, time.perf_counter() - started)

    def _frames(self, audio: np.ndarray) -> list[np.ndarray]:
        """Per-frame features before any per-window step: MFE as the extractor scales it, MFCC's cepstrum."""
        cfg = self.features
        power = self.extractor.mel(torch.from_numpy(audio))  # [n_filters, frames]
        db = (10.0 * torch.log10(power.clamp_min(1e-30))).clamp_min(cfg.noise_floor_db)
        if cfg.kind == "mfe":
            feats = (db - cfg.noise_floor_db) / (-cfg.noise_floor_db + 12.0)
        else:
            feats = torch.einsum("ft,fc->ct", db, self.extractor.dct)  # [coeffs, frames]
        return list(feats.T.numpy())

    def _invoke(self, window: np.ndarray) -> np.ndarray:
        """int8 scores of one window of frames ``[n_frames, coeffs]``."""
        if self.features.kind == "mfcc":
            window = (window - window.mean(axis=0, keepdims=True)) / 20.0
        q = np.clip(np.round(window / self.in_scale) + self.in_zero, -128, 127).astype(np.int8)
        self.interpreter.set_tensor(self._in["index"], q.reshape(self._in["shape"]))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._out["index"]).reshape(-1).copy()
