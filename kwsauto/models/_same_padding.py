"""Make every convolution pad as TensorFlow Lite's ``SAME`` does, so the int8 graph needs no PAD op.

PyTorch pads symmetrically; TFLite's ``SAME`` puts the odd pixel at the bottom/right. For a stride-2 conv on an
even input they differ (and the output would be shifted by one pixel on the device). Given the input shape,
each such conv gets an explicit asymmetric ``ZeroPad2d`` in front, which the exporter folds back into SAME.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["tf_same_pads", "apply_tf_same_padding"]


def tf_same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's SAME padding (before, after) for one spatial axis."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def apply_tf_same_padding(model: nn.Module, input_shape: tuple[int, int, int]) -> nn.Module:
    """Rewrite ``model``'s convs in place so each one pads as TFLite SAME on ``input_shape`` ``[C, H, W]``."""
    sizes: dict[str, tuple[int, int]] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_pre_hook(lambda m, a, n=name: sizes.__setitem__(n, a[0].shape[-2:])))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_shape))
    model.train(was_training)
    for hook in hooks:
        hook.remove()
    for name, (h, w) in sizes.items():
        conv = model.get_submodule(name)
        intended_same = tuple(conv.padding) == tuple((k - 1) // 2 * d for k, d in zip(conv.kernel_size, conv.dilation))
        if not intended_same or conv.kernel_size == (1, 1):
            continue  # VALID convs and pointwise convs pad nothing on either side
        top, bottom = tf_same_pads(h, conv.kernel_size[0], conv.stride[0], conv.dilation[0])
        left, right = tf_same_pads(w, conv.kernel_size[1], conv.stride[1], conv.dilation[1])
        if top == bottom and left == right:
            conv.padding = (top, left)
            continue
        conv.padding = (0, 0)
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv))
    return model
