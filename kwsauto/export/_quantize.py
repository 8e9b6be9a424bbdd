"""Post-training int8 quantization of a trained model into the :class:`QuantizedGraph` the TFLite writer serializes.

The scheme is TFLite's int8 spec, as TFLite Micro and CMSIS-NN expect it:

* conv and depthwise weights: symmetric int8 in [-127, 127], one scale per output channel (``quantized_dimension``
  0 for CONV_2D ``[out, kh, kw, in]``, 3 for DEPTHWISE_CONV_2D ``[1, kh, kw, ch]``), zero point 0;
* fully-connected weights: symmetric per-tensor (the TFLite converter's default; older TFLM/CMSIS-NN FC kernels
  reject per-channel weights). kwsauto's traced graphs write the classifier head as CONV_2D (see ``_graph``),
  whose weights are per output channel like any conv's;
* biases: int32 with ``scale = input_scale * weight_scale`` (per channel where the weights are), zero point 0;
* activations: asymmetric per-tensor int8 from the min/max seen on calibration features, widened to include 0 and
  clipped to the fused activation's range (ReLU: >= 0, ReLU6: [0, 6]);
* AVERAGE_POOL_2D and RESHAPE keep their input's quantization, SOFTMAX outputs ``scale 1/256, zero point -128``.

BatchNorm is folded into the conv (or linear layer) before it. Ranges are recorded on the eval-mode float model,
whose BatchNorm output equals the folded conv's output.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.fx
from torch import nn

from kwsauto.errors import ConfigError
from kwsauto.export._graph import _ALIASES, Int8Graph, OpSpec

__all__ = ["QuantParams", "QuantizedGraph", "QuantizedOp", "placeholder_quantized_graph", "quantize_graph"]

_LOGGER = logging.getLogger(__name__)
SOFTMAX_OUTPUT = (1.0 / 256.0, -128)  # TFLite's fixed int8 softmax output quantization
_WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
_SAME_AS_INPUT = ("AVERAGE_POOL_2D", "RESHAPE")
_MIN_RANGE = 1e-5


@dataclass(frozen=True)
class QuantParams:
    """Affine int8/int32 quantization ``real = scale * (q - zero_point)``; one entry per channel along ``axis``."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True, eq=False)
class QuantizedOp:
    """One op of the graph with its constants: int8 weights (TFLite layout) and int32 bias, or none."""

    spec: OpSpec
    weights: np.ndarray | None = None  # int8, conv [out, kh, kw, in], dw [1, kh, kw, ch], fc [out, in]
    weight_quant: QuantParams | None = None
    bias: np.ndarray | None = None  # int32 [channels]
    bias_quant: QuantParams | None = None


@dataclass(frozen=True, eq=False)
class QuantizedGraph:
    """An :class:`Int8Graph` with every activation's quantization and every op's quantized constants."""

    graph: Int8Graph
    activations: tuple[QuantParams, ...]  # by tensor index
    ops: tuple[QuantizedOp, ...] = field(default=())

    @property
    def input_quant(self) -> QuantParams:
        return self.activations[self.graph.input]

    @property
    def output_quant(self) -> QuantParams:
        return self.activations[self.graph.output]


def quantize_graph(
    model: nn.Module, graph: Int8Graph, calibration: torch.Tensor, batch_size: int = 64
) -> QuantizedGraph:
    """Quantize the trained ``model`` (traced as ``graph``) to int8, calibrating on features ``[n, 1, H, W]``."""
    if calibration.ndim != 4 or len(calibration) == 0:
        raise ConfigError(
            f"Calibration features must be a non-empty [n, 1, frames, coeffs] tensor, but got shape "
            f"{tuple(calibration.shape)}; pass a few hundred training clips' features."
        )
    was_training = model.training
    model.eval()
    try:
        traced = torch.fx.symbolic_trace(model)
        final, bn_of = _value_nodes(traced)
        ranges = _calibrate(traced, set(final.values()), calibration, batch_size)
        activations = _activation_params(graph, {key: ranges[node] for key, node in final.items()})
        modules = dict(traced.named_modules())
        ops = tuple(_quantize_op(op, graph, activations, modules, bn_of) for op in graph.ops)
    finally:
        model.train(was_training)
    _LOGGER.info("Quantized %d ops on %d calibration clips", len(ops), len(calibration))
    return QuantizedGraph(graph, activations, ops)


def placeholder_quantized_graph(graph: Int8Graph) -> QuantizedGraph:
    """``graph`` with zero weights and unit scales: serializes to exactly the size of the trained model."""
    softmax = QuantParams((SOFTMAX_OUTPUT[0],), (SOFTMAX_OUTPUT[1],))
    activations = tuple(
        softmax if t.index == graph.output else QuantParams((1.0,), (0,)) for t in graph.tensors
    )
    ops = []
    for op in graph.ops:
        if op.kind not in _WEIGHTED:
            ops.append(QuantizedOp(op))
            continue
        channels = _channels(op)
        axis = 3 if op.kind == "DEPTHWISE_CONV_2D" else 0
        ops.append(
            QuantizedOp(
                op,
                np.zeros(op.weight_shape, np.int8),
                QuantParams((1.0,) * channels, (0,) * channels, axis),
                np.zeros(op.bias_size, np.int32),
                QuantParams((1.0,) * channels, (0,) * channels, 0),
            )
        )
    return QuantizedGraph(graph, activations, tuple(ops))


def _channels(op: OpSpec) -> int:
    """Number of weight scales: per output channel for convs, one for fully-connected layers."""
    if op.kind == "CONV_2D":
        return op.weight_shape[0]
    if op.kind == "DEPTHWISE_CONV_2D":
        return op.weight_shape[3]
    return 1


def _value_nodes(traced: torch.fx.GraphModule) -> tuple[dict[str, str], dict[str, str]]:
    """Map each graph tensor (named as ``trace_int8_graph`` names it) to the fx node holding its final value.

    Aliases (BatchNorm, ReLU, dropout, padding) pass their input's tensor on, so a conv's tensor ends at the
    activation after its BatchNorm. Also returns ``conv/linear node → BatchNorm module path`` for folding.
    """
    modules = dict(traced.named_modules())
    tensor_of: dict[str, str] = {}  # fx node → graph tensor name
    final: dict[str, str] = {}  # graph tensor name → fx node with its final value
    bn_of: dict[str, str] = {}
    for node in traced.graph.nodes:
        if node.op == "placeholder":
            tensor_of[node.name] = "input"
        elif node.op == "output":
            continue
        elif node.op == "call_module" and isinstance(modules[node.target], _ALIASES):
            src = node.args[0]
            tensor_of[node.name] = tensor_of[src.name]
            module = modules[node.target]
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                if (
                    src.op != "call_module"
                    or not isinstance(modules[src.target], (nn.Conv2d, nn.Linear))
                    or len(src.users) != 1
                ):
                    raise ConfigError(
                        f"BatchNorm {node.target} does not directly follow a conv or linear layer, so it cannot be "
                        "folded for int8 export; place each BatchNorm right after its conv."
                    )
                bn_of[src.name] = str(node.target)
        else:
            tensor_of[node.name] = node.name
        final[tensor_of[node.name]] = node.name
    return final, bn_of


class _RangeRecorder(torch.fx.Interpreter):
    """Runs the traced model and keeps the min and max of the watched nodes' outputs."""

    def __init__(self, gm: torch.fx.GraphModule, watch: set[str]) -> None:
        super().__init__(gm)
        self.watch = watch
        self.ranges: dict[str, tuple[float, float]] = {}

    def run_node(self, n: torch.fx.Node) -> object:
        out = super().run_node(n)
        if n.name in self.watch and isinstance(out, torch.Tensor):
            lo, hi = float(out.min()), float(out.max())
            old = self.ranges.get(n.name, (lo, hi))
            self.ranges[n.name] = (min(lo, old[0]), max(hi, old[1]))
        return out


def _calibrate(
    traced: torch.fx.GraphModule, watch: set[str], features: torch.Tensor, batch_size: int
) -> dict[str, tuple[float, float]]:
    recorder = _RangeRecorder(traced, watch)
    with torch.no_grad():
        for i in range(0, len(features), batch_size):
            recorder.run(features[i : i + batch_size].float())  # [batch, 1, frames, coeffs]
    return recorder.ranges


def _asymmetric(lo: float, hi: float) -> QuantParams:
    """Per-tensor int8 parameters for ``[lo, hi]``, widened to include 0 so zero padding is exact.

    A (nearly) constant tensor still gets a range of ``_MIN_RANGE``: TFLM quantizes 6.0 with the output scale to
    clamp a fused ReLU6, and rejects a scale so small that this overflows int32.
    """
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < _MIN_RANGE:
        hi = lo + _MIN_RANGE
    scale = float(np.float32((hi - lo) / 255.0))  # as the flatbuffer stores it
    zero_point = int(np.clip(round(-128 - lo / scale), -128, 127))
    return QuantParams((float(scale),), (zero_point,))


def _activation_params(graph: Int8Graph, ranges: dict[str, tuple[float, float]]) -> tuple[QuantParams, ...]:
    params: dict[int, QuantParams] = {graph.input: _asymmetric(*ranges["input"])}
    for op in graph.ops:
        if op.kind in _SAME_AS_INPUT:
            params[op.output] = params[op.inputs[0]]
        elif op.kind == "SOFTMAX":
            params[op.output] = QuantParams((SOFTMAX_OUTPUT[0],), (SOFTMAX_OUTPUT[1],))
        else:
            lo, hi = ranges[graph.tensors[op.output].name]
            if op.activation in ("RELU", "RELU6"):
                lo, hi = max(lo, 0.0), max(hi, 0.0)
            if op.activation == "RELU6":
                hi = min(hi, 6.0)
            params[op.output] = _asymmetric(lo, hi)
    return tuple(params[t.index] for t in graph.tensors)


def _folded(module: nn.Module, bn: nn.Module | None) -> tuple[np.ndarray, np.ndarray]:
    """Float weight (torch layout) and bias of ``module`` with ``bn`` folded in."""
    w = module.weight.detach().double()
    b = (
        module.bias.detach().double()
        if module.bias is not None
        else torch.zeros(w.shape[0], dtype=torch.float64)
    )
    if bn is not None:
        gain = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)  # [out]
        w = w * gain.reshape(-1, *([1] * (w.ndim - 1)))
        b = (b - bn.running_mean.double()) * gain + bn.bias.detach().double()
    return w.numpy(), b.numpy()


def _tflite_layout(op: OpSpec, w: np.ndarray, graph: Int8Graph) -> np.ndarray:
    if op.kind == "CONV_2D" and w.ndim == 2:  # an nn.Linear on a flattened NCHW map, written as a conv over it
        out, kh, kw, c = op.weight_shape
        return w.reshape(out, c, kh, kw).transpose(0, 2, 3, 1)  # [out, c*kh*kw] → [out, kh, kw, c]
    if op.kind == "CONV_2D":
        return w.transpose(0, 2, 3, 1)  # [out, in, kh, kw] → [out, kh, kw, in]
    if op.kind == "DEPTHWISE_CONV_2D":
        return w.transpose(1, 2, 3, 0)  # [ch, 1, kh, kw] → [1, kh, kw, ch]
    src = graph.tensors[op.inputs[0]]
    producer = next((o for o in graph.ops if o.output == src.index), None)
    if producer is not None and producer.kind == "RESHAPE":
        shape = graph.tensors[producer.inputs[0]].shape
        if len(shape) == 4 and shape[1] * shape[2] > 1:  # flatten of NCHW vs NHWC: reorder the FC's columns
            _, h, wd, c = shape
            return w.reshape(w.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
    return w


def _quantize_op(
    op: OpSpec,
    graph: Int8Graph,
    activations: tuple[QuantParams, ...],
    modules: dict[str, nn.Module],
    bn_of: dict[str, str],
) -> QuantizedOp:
    if op.kind not in _WEIGHTED:
        return QuantizedOp(op)
    module = modules[op.module]
    bn_path = bn_of.get(op.name)
    w, b = _folded(module, modules[bn_path] if bn_path else None)
    w = _tflite_layout(op, w, graph)
    if tuple(w.shape) != op.weight_shape:
        raise ConfigError(
            f"Weights of {op.module} have shape {tuple(w.shape)} but the int8 graph expects {op.weight_shape}; "
            "trace the graph from the same model and input shape."
        )
    axis = 3 if op.kind == "DEPTHWISE_CONV_2D" else 0
    if op.kind == "FULLY_CONNECTED":
        absmax = np.array([np.abs(w).max()])
    else:
        absmax = np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)).max(axis=1)
    w_scale = np.where(absmax > 0, absmax / 127.0, 1.0)  # an all-zero channel keeps a harmless unit scale
    w_scale = w_scale.astype(np.float32).astype(np.float64)  # quantize with the scales the file will hold
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / w_scale.reshape(shape)), -127, 127).astype(np.int8)
    in_scale = activations[op.inputs[0]].scale[0]
    b_scale = (in_scale * w_scale).astype(np.float32).astype(np.float64)  # per channel, or one for an FC
    qb = np.clip(np.round(b / b_scale), -(2**31), 2**31 - 1).astype(np.int32)
    return QuantizedOp(
        op,
        q,
        QuantParams(tuple(map(float, w_scale)), (0,) * len(w_scale), axis),
        qb,
        QuantParams(tuple(map(float, b_scale)), (0,) * len(b_scale), 0),
    )
