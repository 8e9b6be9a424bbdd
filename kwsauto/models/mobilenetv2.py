"""MobileNetV2 (Sandler et al. 2018) for one-channel spectrograms: torchvision's network, adapted.

torchvision's ``MobileNetV2`` supplies the inverted residual blocks and ``_make_divisible`` width rounding;
the stem takes one channel instead of RGB and torchvision's classifier is replaced by kwsauto's head.
"""

from __future__ import annotations

from torch import nn
from torchvision.models import mobilenetv2 as tv

__all__ = ["MobileNetV2Backbone"]


class MobileNetV2Backbone(nn.Module):
    def __init__(self, width: float = 1.0, in_channels: int = 1) -> None:
        super().__init__()
        net = tv.MobileNetV2(width_mult=width, norm_layer=nn.BatchNorm2d)
        stem = net.features[0][0]
        net.features[0][0] = nn.Conv2d(in_channels, stem.out_channels, 3, 2, 1, bias=False)
        self.features = net.features
        self.out_channels = net.last_channel

    def forward(self, x):
        return self.features(x)  # [batch, last_channel, frames/32, coeffs/32]
