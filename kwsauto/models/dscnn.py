"""The MLPerf Tiny keyword-spotting reference DS-CNN (Zhang et al. 2017, "Hello Edge"; mlcommons/tiny).

Conv 64 10x4 stride 2, then four depthwise-separable blocks of 64 channels; average pooling and the FC layer
are the shared head. On 49x10 MFCC the network has about 2.66 M MACs; ``width`` scales the 64 channels and
``depth`` sets the number of blocks (Hello Edge's S and M have 4, L has 5). More blocks cost flash and latency but
no activation RAM: every block keeps the same activation size, so the activation peak does not grow.
"""

from __future__ import annotations

from torch import nn

from kwsauto.models._head import conv_bn_relu

__all__ = ["DSCNNBackbone"]


class DSCNNBackbone(nn.Module):
    def __init__(self, width: float = 1.0, in_channels: int = 1, depth: int = 4) -> None:
        super().__init__()
        ch = max(8, int(64 * width))
        layers = [conv_bn_relu(in_channels, ch, (10, 4), 2)]
        for _ in range(depth):
            layers += [conv_bn_relu(ch, ch, 3, 1, groups=ch), conv_bn_relu(ch, ch, 1)]
        self.features = nn.Sequential(*layers)
        self.out_channels = ch

    def forward(self, x):
        return self.features(x)  # [batch, 64, frames/2, coeffs/2]
