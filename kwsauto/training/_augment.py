"""Augmentation: waveform time shift and background-noise mixing, then spectrogram noise, masks and warping."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from kwsauto.training._config import AugmentConfig

__all__ = ["augment_waves", "augment_features"]

_NOISE_STD = {"low": 0.02, "high": 0.05}  # features are scaled to about [0, 1]
_MASKS = {"low": (1, 0.10), "high": (2, 0.15)}  # (number of masks, max width as a fraction of the axis)


def augment_waves(
    waves: torch.Tensor, config: AugmentConfig, noise: torch.Tensor, sample_rate_hz: int, generator: torch.Generator
) -> torch.Tensor:
    """Shift each clip in time and mix background noise under some of them. ``waves``: ``[batch, samples]``."""
    batch, n = waves.shape
    out = waves.clone()
    if config.time_shift_ms > 0:
        max_shift = int(sample_rate_hz * config.time_shift_ms / 1000)
        shifts = torch.randint(-max_shift, max_shift + 1, (batch,), generator=generator)
        for i, s in enumerate(shifts.tolist()):
            if s > 0:
                out[i] = F.pad(waves[i, :-s], (s, 0))
            elif s < 0:
                out[i] = F.pad(waves[i, -s:], (0, -s))
    if config.background_noise > 0 and len(noise):
        mix = torch.rand(batch, generator=generator) < config.background_noise
        for i in torch.nonzero(mix).flatten().tolist():
            rec = noise[int(torch.randint(len(noise), (1,), generator=generator))]
            start = int(torch.randint(max(1, rec.shape[0] - n), (1,), generator=generator))
            segment = rec[start : start + n]
            gain = 0.1 * float(torch.rand(1, generator=generator)) / segment.abs().max().clamp_min(1e-3)
            out[i, : segment.shape[0]] += gain * segment
    return out.clamp(-1, 1)


def augment_features(feats: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Gaussian noise, time/frequency masks and time warping on ``[batch, 1, frames, coeffs]``."""
    batch, _, frames, coeffs = feats.shape
    out = feats.clone()
    if config.warping:
        out = torch.stack([_time_warp(x, generator) for x in out])
    if config.noise != "none":
        out = out + _NOISE_STD[config.noise] * torch.randn(out.shape, generator=generator)
    for level, axis, size in ((config.time_mask, 2, frames), (config.freq_mask, 3, coeffs)):
        if level == "none":
            continue
        count, fraction = _MASKS[level]
        for _ in range(count):
            width = torch.randint(0, max(1, int(size * fraction)) + 1, (batch,), generator=generator)
            start = (torch.rand(batch, generator=generator) * (size - width)).long()
            pos = torch.arange(size)
            mask = (pos[None, :] >= start[:, None]) & (pos[None, :] < (start + width)[:, None])  # [batch, size]
            shape = [batch, 1, 1, 1]
            shape[axis] = size
            out = out.masked_fill(mask.view(shape), 0.0)
    return out


def _time_warp(x: torch.Tensor, generator: torch.Generator, max_fraction: float = 0.1) -> torch.Tensor:
    """SpecAugment's time warp of one example ``[1, frames, coeffs]``: stretch one side of a point, squeeze the other."""
    frames = x.shape[1]
    w = max(1, int(frames * max_fraction))
    if frames <= 2 * w + 2:
        return x
    center = int(torch.randint(w + 1, frames - w - 1, (1,), generator=generator))
    new_center = center + int(torch.randint(-w, w + 1, (1,), generator=generator))
    left = F.interpolate(x[None, :, :center], size=(new_center, x.shape[2]), mode="bilinear", align_corners=False)
    right = F.interpolate(
        x[None, :, center:], size=(frames - new_center, x.shape[2]), mode="bilinear", align_corners=False
    )
    return torch.cat([left, right], dim=2)[0]
