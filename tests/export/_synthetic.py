"""Synthetic spectrograms and small trained models shared by the export tests."""

from __future__ import annotations

import torch
from torch import nn

from kwsauto.models import ModelSpec

INPUT_SHAPE = (1, 49, 10)  # [channels, frames, coeffs]; odd/even sizes give TF SAME's asymmetric padding
LABELS = ("down", "go", "left", "no")
FEATURES = {"kind": "mfe", "frame_stride_s": 0.02, "n_filters": 10}
SPECS = {
    "mobilenetv1": ModelSpec("mobilenetv1", 0.1, dropout=0.0),
    "mobilenetv2": ModelSpec("mobilenetv2", 0.1, dropout=0.0),
    "dscnn": ModelSpec("dscnn", 0.25, head_units=16, dropout=0.0),
}



def synthetic_spectrograms(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` MFE-like ``[n, 1, frames, coeffs]`` clips in [0, 1]: class k lights coefficient band k at a random time."""
    g = torch.Generator().manual_seed(seed)
    _, frames, coeffs = INPUT_SHAPE
    labels = torch.arange(n) % len(LABELS)
    x = 0.15 * torch.rand(n, *INPUT_SHAPE, generator=g)
    band, length = coeffs // len(LABELS), frames // 3
    starts = torch.randint(0, frames - length, (n,), generator=g)
    for i in range(n):
        k, t = int(labels[i]), int(starts[i])
        x[i, 0, t : t + length, k * band : (k + 1) * band] += 0.6 + 0.2 * torch.rand(1, generator=g)
    return x.clamp(0, 1), labels



def train_small(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    g = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 32):
            idx = order[i : i + 32]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
