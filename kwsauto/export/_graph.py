"""The int8 graph: the network as TFLite Micro will run it, known from shapes alone.

BatchNorm folds into the conv before it, ReLU/ReLU6 fuse into the op before them, dropout vanishes,
an explicit ``ZeroPad2d`` folds into the next conv's SAME padding, global average pooling becomes
AVERAGE_POOL_2D, flatten a RESHAPE, and SOFTMAX ends the graph. The same graph feeds the footprint estimate
(before any training) and the exporters, so what the search budgets is what gets written.

A classifier head on a feature map (flatten, then ``nn.Linear`` layers) is written as CONV_2D ops whose kernel
covers the whole map (1x1 after global pooling), and the logits are reshaped to ``[1, classes]`` just before the
SOFTMAX. The arithmetic is the same as FULLY_CONNECTED's, but TFLite Micro and LiteRT round a FULLY_CONNECTED's
requantization differently (TFLM in two steps, LiteRT in one), so the logits could differ by one step near a
rounding tie, which the softmax turns into up to ``64 * logit scale`` steps of probability; they round a
CONV_2D's alike.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from kwsauto.errors import ConfigError

__all__ = ["TensorSpec", "OpSpec", "Int8Graph", "trace_int8_graph", "SUPPORTED_OPS"]

SUPPORTED_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "ADD",
    "AVERAGE_POOL_2D",
    "RESHAPE",
    "FULLY_CONNECTED",
    "SOFTMAX",
)
_ALIASES = (nn.BatchNorm2d, nn.BatchNorm1d, nn.ReLU, nn.ReLU6, nn.Dropout, nn.Identity, nn.ZeroPad2d)


@dataclass(frozen=True)
class TensorSpec:
    """An int8 activation tensor, NHWC (or ``[1, features]``), one byte per element."""

    index: int
    name: str
    shape: tuple[int, ...]

    @property
    def n_bytes(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class OpSpec:
    """One TFLite builtin op: its activation inputs and output, and the constants it carries."""

    kind: str
    name: str
    inputs: tuple[int, ...]
    output: int
    macs: int = 0
    weight_shape: tuple[int, ...] = ()  # TFLite layout: conv [out, kh, kw, in], dw [1, kh, kw, ch], fc [out, in]
    bias_size: int = 0
    stride: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    activation: str = "NONE"  # NONE, RELU, RELU6
    module: str = ""  # the torch module the op came from, "" for graph-level ops

    @property
    def n_weights(self) -> int:
        n = 1 if self.weight_shape else 0
        for d in self.weight_shape:
            n *= d
        return n

    @property
    def params(self) -> int:
        return self.n_weights + self.bias_size


@dataclass(frozen=True)
class Int8Graph:
    tensors: tuple[TensorSpec, ...]
    ops: tuple[OpSpec, ...]
    input: int
    output: int
    labels: tuple[str, ...] = field(default=())

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def params(self) -> int:
        return sum(op.params for op in self.ops)

    def lifetimes(self) -> dict[int, tuple[int, int]]:
        """``tensor → (first op index, last op index)``; the input lives from 0, the output to the end."""
        first: dict[int, int] = {self.input: 0}
        last: dict[int, int] = {}
        for i, op in enumerate(self.ops):
            first.setdefault(op.output, i)
            last[op.output] = max(last.get(op.output, i), i)
            for t in op.inputs:
                last[t] = max(last.get(t, i), i)
        last[self.output] = len(self.ops) - 1
        return {t: (first[t], last[t]) for t in first}


def trace_int8_graph(model: nn.Module, input_shape: tuple[int, int, int]) -> Int8Graph:
    """Trace ``model`` (``[1, C, H, W]`` input) into its int8 TFLite graph. Weights are not needed."""
    was_training = model.training
    model.eval()
    try:
        traced = torch.fx.symbolic_trace(model)
        ShapeProp(traced).propagate(torch.zeros(1, *input_shape))
        return _Builder(traced).build()
    finally:
        model.train(was_training)


class _Builder:
    def __init__(self, traced: torch.fx.GraphModule) -> None:
        self.gm = traced
        self.modules = dict(traced.named_modules())
        self.tensors: list[TensorSpec] = []
        self.ops: list[OpSpec] = []
        self.value: dict[str, int] = {}  # fx node name → tensor index

    def _tensor(self, name: str, shape: tuple[int, ...]) -> int:
        self.tensors.append(TensorSpec(len(self.tensors), name, shape))
        return len(self.tensors) - 1

    def _fuse(self, act: str) -> None:
        last = self.ops[-1]
        if last.activation == "NONE" and last.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD"):
            self.ops[-1] = OpSpec(**{**last.__dict__, "activation": act})

    def build(self) -> Int8Graph:
        graph_input = output = -1
        for node in self.gm.graph.nodes:
            meta = node.meta.get("tensor_meta")
            shape = tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else ()
            if node.op == "placeholder":
                graph_input = self.value[node.name] = self._tensor("input", _nhwc(shape))
            elif node.op == "call_module":
                self._module(node, self.modules[node.target], shape)
            elif node.op == "call_function" and node.target in (operator.add, torch.add):
                a, b = (self.value[arg.name] for arg in node.args[:2])
                out = self._tensor(node.name, _nhwc(shape))
                self.ops.append(OpSpec("ADD", node.name, (a, b), out))
                self.value[node.name] = out
            elif node.op == "call_function" and node.target is torch.flatten:
                self._reshape(node, shape)
            elif node.op == "output":
                logits = self.value[node.args[0].name]
                if len(self.tensors[logits].shape) == 4:  # a head written as convs: [1, 1, 1, classes] → [1, classes]
                    flat = self._tensor("logits", (1, self.tensors[logits].shape[-1]))
                    self.ops.append(OpSpec("RESHAPE", "logits", (logits,), flat))
                    logits = flat
                output = self._tensor("probabilities", self.tensors[logits].shape)
                self.ops.append(OpSpec("SOFTMAX", "softmax", (logits,), output))
            else:
                raise ConfigError(
                    f"Cannot export {node.op} {node.target!r} ({node.name}) to int8 TFLite; "
                    f"supported ops: {', '.join(SUPPORTED_OPS)}."
                )
        return Int8Graph(tuple(self.tensors), tuple(self.ops), graph_input, output)

    def _module(self, node: torch.fx.Node, module: nn.Module, shape: tuple[int, ...]) -> None:
        src = self.value[node.args[0].name]
        if isinstance(module, _ALIASES):
            self.value[node.name] = src
            if isinstance(module, nn.ReLU6):
                self._fuse("RELU6")
            elif isinstance(module, nn.ReLU):
                self._fuse("RELU")
        elif isinstance(module, nn.Conv2d):
            n, c, h, w = shape
            in_c = module.in_channels
            kh, kw = module.kernel_size
            depthwise = module.groups == in_c and module.groups > 1
            if module.groups not in (1, in_c) or (depthwise and c != in_c):
                raise ConfigError(f"Grouped conv {node.target} (groups={module.groups}) has no TFLite builtin.")
            out = self._tensor(node.name, (n, h, w, c))
            self.ops.append(
                OpSpec(
                    "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D",
                    node.name,
                    (src,),
                    out,
                    macs=h * w * c * kh * kw * (1 if depthwise else in_c),
                    weight_shape=(1, kh, kw, c) if depthwise else (c, kh, kw, in_c),
                    bias_size=c,
                    stride=tuple(module.stride),
                    padding="VALID" if tuple(module.padding) == (0, 0) and not self._padded(node) and (kh, kw) != (1, 1) else "SAME",
                    module=str(node.target),
                )
            )
            self.value[node.name] = out
        elif isinstance(module, (nn.AdaptiveAvgPool2d, nn.AvgPool2d)):
            out = self._tensor(node.name, _nhwc(shape))
            self.ops.append(OpSpec("AVERAGE_POOL_2D", node.name, (src,), out, padding="VALID", module=str(node.target)))
            self.value[node.name] = out
        elif isinstance(module, nn.Flatten):
            self._reshape(node, shape)
        elif isinstance(module, nn.Linear) and len(self.tensors[src].shape) == 4:
            _, h, w, c = self.tensors[src].shape  # a flattened map: one conv whose kernel covers it
            out = self._tensor(node.name, (1, 1, 1, module.out_features))
            self.ops.append(
                OpSpec(
                    "CONV_2D",
                    node.name,
                    (src,),
                    out,
                    macs=module.in_features * module.out_features,
                    weight_shape=(module.out_features, h, w, c),
                    bias_size=module.out_features,
                    padding="VALID",
                    module=str(node.target),
                )
            )
            self.value[node.name] = out
        elif isinstance(module, nn.Linear):
            out = self._tensor(node.name, shape)
            self.ops.append(
                OpSpec(
                    "FULLY_CONNECTED",
                    node.name,
                    (src,),
                    out,
                    macs=module.in_features * module.out_features,
                    weight_shape=(module.out_features, module.in_features),
                    bias_size=module.out_features,
                    module=str(node.target),
                )
            )
            self.value[node.name] = out
        else:
            raise ConfigError(
                f"Cannot export layer {node.target} ({type(module).__name__}) to int8 TFLite; "
                f"supported ops: {', '.join(SUPPORTED_OPS)}."
            )

    def _padded(self, node: torch.fx.Node) -> bool:
        """Whether the conv's input comes through an explicit ZeroPad2d (folded into SAME)."""
        arg = node.args[0]
        return arg.op == "call_module" and isinstance(self.modules[arg.target], nn.ZeroPad2d)

    def _feeds_only_linear(self, node: torch.fx.Node) -> bool:
        """Whether every use of ``node``'s value, through dropout or identity, is an ``nn.Linear``."""
        if not node.users:
            return False
        for user in node.users:
            module = self.modules.get(str(user.target)) if user.op == "call_module" else None
            if isinstance(module, (nn.Dropout, nn.Identity)):
                if not self._feeds_only_linear(user):
                    return False
            elif not isinstance(module, nn.Linear):
                return False
        return True

    def _reshape(self, node: torch.fx.Node, shape: tuple[int, ...]) -> None:
        src = self.value[node.args[0].name]
        if len(self.tensors[src].shape) == 4 and self._feeds_only_linear(node):
            self.value[node.name] = src  # the linear layers become convs over the map itself
            return
        out = self._tensor(node.name, shape)
        self.ops.append(OpSpec("RESHAPE", node.name, (self.value[node.args[0].name],), out))
        self.value[node.name] = out


def _nhwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0], shape[2], shape[3], shape[1]) if len(shape) == 4 else tuple(shape)
