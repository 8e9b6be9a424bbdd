"""The network shape every kwsauto model shares: a backbone feature map, then the classifier head."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ClassifierHead", "KwsNet", "conv_bn_relu"]


def conv_bn_relu(
    in_ch: int, out_ch: int, kernel: int | tuple[int, int], stride: int | tuple[int, int] = 1, groups: int = 1
) -> nn.Sequential:
    """Conv (no bias) + BatchNorm + ReLU6: the unit that folds into one int8 CONV_2D with fused activation."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, (kh, kw), stride, ((kh - 1) // 2, (kw - 1) // 2), groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU6(inplace=True),
    )


class ClassifierHead(nn.Module):
    """Global average pooling, optional dense + ReLU, dropout, linear."""

    def __init__(self, in_channels: int, num_classes: int, units: int = 0, dropout: float = 0.1) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.dense = nn.Sequential(nn.Linear(in_channels, units), nn.ReLU(inplace=True)) if units else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(units or in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(self.pool(x))  # [batch, channels]
        return self.fc(self.dropout(self.dense(x)))  # [batch, classes]


class KwsNet(nn.Module):
    """``backbone`` (spectrogram ``[batch, 1, frames, coeffs]`` → feature map) followed by ``head``."""

    def __init__(self, backbone: nn.Module, head: ClassifierHead) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))
