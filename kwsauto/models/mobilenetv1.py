"""MobileNetV1 (Howard et al. 2017) for one-channel spectrograms, with a width multiplier.

The stem and the 13 depthwise-separable blocks of the paper; for a 99x40 MFE input the five stride-2 layers
leave a 4x2 map. Channels are ``round(c * width)``, at least 8, divisible by 8 as TFLite kernels like.
"""

from __future__ import annotations

from torch import nn

from kwsauto.models._head import conv_bn_relu

__all__ = ["MobileNetV1Backbone"]

# (output channels at width 1.0, stride) per depthwise-separable block
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)) + ((512, 1),) * 5 + ((1024, 2), (1024, 1))


def _scaled(channels: int, width: float) -> int:
    return max(8, int(channels * width + 4) // 8 * 8)


class MobileNetV1Backbone(nn.Module):
    def __init__(self, width: float = 1.0, in_channels: int = 1) -> None:
        super().__init__()
        ch = _scaled(32, width)
        layers = [conv_bn_relu(in_channels, ch, 3, 2)]
        for out, stride in _BLOCKS:
            out = _scaled(out, width)
            layers += [conv_bn_relu(ch, ch, 3, stride, groups=ch), conv_bn_relu(ch, out, 1)]
            ch = out
        self.features = nn.Sequential(*layers)
        self.out_channels = ch

    def forward(self, x):
        return self.features(x)  # [batch, out_channels, frames/32, coeffs/32]
