"""MFE (log-mel filterbank energies) and MFCC with torchaudio, scaled as Edge Impulse's blocks scale them."""

from __future__ import annotations

import functools

import torch
import torchaudio

from kwsauto.features._config import FeatureConfig

__all__ = ["FeatureExtractor"]


class FeatureExtractor(torch.nn.Module):
    """Waveforms ``[batch, samples]`` → features ``[batch, 1, frames, coefficients]``.

    MFE: mel power in dB, clipped at the noise floor and scaled to about [0, 1] with
    ``(dB - floor) / (-floor + 12)`` as Edge Impulse does, which suits int8 input quantization.
    MFCC: DCT-II of the log-mel energies, mean-normalized over time per clip.
    """

    def __init__(self, config: FeatureConfig) -> None:
        super().__init__()
        self.config = config
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=config.sample_rate_hz,
            n_fft=config.fft_length,
            win_length=min(config.frame_length_samples, config.fft_length),
            hop_length=config.frame_stride_samples,
            f_min=config.low_hz,
            f_max=config.high_hz or None,
            n_mels=config.n_filters,
            power=2.0,
            center=False,
            norm="slaney",
            mel_scale="htk",
        )
        if config.kind == "mfcc":
            self.register_buffer("dct", _dct_matrix(config.n_filters, config.n_coefficients))

    @torch.no_grad()
    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        waves = waves[..., : self.config.window_samples]
        power = self.mel(waves)  # [batch, n_filters, frames]
        db = 10.0 * torch.log10(power.clamp_min(1e-30))
        floor = self.config.noise_floor_db
        if self.config.kind == "mfe":
            feats = (db.clamp_min(floor) - floor) / (-floor + 12.0)
        else:
            cep = torch.einsum("bft,fc->bct", db.clamp_min(floor), self.dct)  # [batch, coeffs, frames]
            feats = (cep - cep.mean(dim=-1, keepdim=True)) / 20.0
        return feats.transpose(1, 2).unsqueeze(1).contiguous()  # [batch, 1, frames, coeffs]


@functools.lru_cache(maxsize=4)
def _dct_matrix(n_filters: int, n_coefficients: int) -> torch.Tensor:
    n = torch.arange(n_filters, dtype=torch.float64)
    k = torch.arange(n_coefficients, dtype=torch.float64)
    basis = torch.cos(torch.pi / n_filters * (n[:, None] + 0.5) * k[None, :])  # [filters, coeffs]
    basis[:, 0] *= 1 / torch.sqrt(torch.tensor(2.0))
    return (basis * torch.sqrt(torch.tensor(2.0 / n_filters))).float()
