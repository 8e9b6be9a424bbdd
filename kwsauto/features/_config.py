"""The feature configuration: Edge Impulse's MFE and MFCC blocks' parameters."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kwsauto._fields import check_field_types
from kwsauto.errors import ConfigError, did_you_mean

__all__ = ["FeatureConfig", "FEATURE_KINDS"]

FEATURE_KINDS = ("mfe", "mfcc")


@dataclass(frozen=True)
class FeatureConfig:
    """How a 16 kHz window becomes a spectrogram ``[1, frames, coefficients]``.

    Defaults are Edge Impulse's MFE block (the default for its keyword-spotting transfer learning):
    20 ms frames every 10 ms, 40 mel filters, FFT 256, noise floor -52 dB. ``high_hz = 0`` means Nyquist.
    For MFCC, ``n_coefficients`` cepstral coefficients are kept. A frame longer than the FFT is truncated to
    ``fft_length`` samples, as Edge Impulse's DSP (numpy's ``rfft(n=fft_length)``) does.
    """

    kind: str = "mfe"
    sample_rate_hz: int = 16000
    window_ms: int = 1000
    frame_length_s: float = 0.02
    frame_stride_s: float = 0.01
    n_filters: int = 40
    fft_length: int = 256
    low_hz: float = 0.0
    high_hz: float = 0.0
    noise_floor_db: float = -52.0
    n_coefficients: int = 13

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ConfigError(
                f"Feature kind must be one of {FEATURE_KINDS}, but got {self.kind!r}"
                f"{did_you_mean(self.kind, FEATURE_KINDS)}."
            )
        if self.fft_length < 16 or self.fft_length & (self.fft_length - 1):
            raise ConfigError(f"fft_length must be a power of two >= 16, but got {self.fft_length}.")
        if self.frame_stride_s <= 0 or self.frame_length_s <= 0:
            raise ConfigError("frame_length_s and frame_stride_s must be positive.")
        if self.n_frames < 2:
            raise ConfigError(f"window_ms={self.window_ms} leaves fewer than 2 frames; use a longer window.")
        nyquist = self.sample_rate_hz / 2
        if not 0 <= self.low_hz < (self.high_hz or nyquist) <= nyquist:
            raise ConfigError(
                f"Need 0 <= low_hz < high_hz <= {nyquist:g} Hz, but got low_hz={self.low_hz}, high_hz={self.high_hz}."
            )
        if self.kind == "mfcc" and not 1 <= self.n_coefficients <= self.n_filters:
            raise ConfigError(
                f"n_coefficients must be between 1 and n_filters={self.n_filters}, but got {self.n_coefficients}."
            )

    @classmethod
    def from_dict(cls, values: dict) -> FeatureConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        for key in values:
            if key not in names:
                raise ConfigError(
                    f"Unknown feature parameter {key!r}{did_you_mean(key, names)}; valid: {sorted(names)}."
                )
        check_field_types(cls, values, "features")
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def window_samples(self) -> int:
        return self.sample_rate_hz * self.window_ms // 1000

    @property
    def frame_length_samples(self) -> int:
        return int(round(self.frame_length_s * self.sample_rate_hz))

    @property
    def frame_stride_samples(self) -> int:
        return int(round(self.frame_stride_s * self.sample_rate_hz))

    @property
    def n_frames(self) -> int:
        # torchaudio frames by the FFT length (center=False): the window is zero-padded or cut to it
        return 1 + (self.window_samples - self.fft_length) // self.frame_stride_samples

    @property
    def n_features(self) -> int:
        return self.n_filters if self.kind == "mfe" else self.n_coefficients

    @property
    def shape(self) -> tuple[int, int, int]:
        """The model input, ``[channels=1, frames, coefficients]``."""
        return (1, self.n_frames, self.n_features)
