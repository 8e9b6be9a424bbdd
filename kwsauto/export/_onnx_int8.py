"""The int8 ONNX model of a :class:`QuantizedGraph`: the network the .tflite file holds, written in QDQ form.

One quantized graph feeds every int8 exporter, so the ONNX and TFLite int8 models describe the same model: the
same int8 weights and int32 biases, the same scales and zero points. Each op of the graph becomes its float ONNX
op between ``DequantizeLinear`` of its inputs and ``QuantizeLinear``/``DequantizeLinear`` of its output, which
ONNX Runtime fuses back into integer kernels:

* the float input ``features`` ``[batch, 1, frames, coeffs]`` (NCHW, as the float ONNX model) is quantized with
  the graph's input scale and zero point, exactly as :func:`~kwsauto.export.quantize_features` does;
* CONV_2D / DEPTHWISE_CONV_2D: ``Conv`` with int8 weights in ONNX layout (OIHW; depthwise ``[C, 1, kh, kw]`` with
  ``group = C``) dequantized per output channel, the int32 bias dequantized with ``input_scale * weight_scale``,
  and TF SAME padding as explicit, possibly asymmetric ``pads`` (never ``auto_pad``, whose odd pixel differs);
* fused ReLU/ReLU6 as ``Relu``/``Clip(0, 6)``; ADD as ``Add``; global AVERAGE_POOL_2D as ``GlobalAveragePool``;
  RESHAPE as ``Flatten`` (through NHWC when the map is larger than 1x1, the order the FC weights assume);
  FULLY_CONNECTED as ``Gemm`` with per-tensor weights; SOFTMAX as ``Softmax`` quantized with scale 1/256,
  zero point -128;
* the output ``probabilities`` ``[batch, classes]`` is the dequantized int8 softmax, as the .tflite file's.

Labels and feature parameters travel as the same ``kwsauto`` JSON the .tflite file holds, in ``metadata_props``.

The two files hold the same numbers but are not bit-exact twins: ONNX rounds a float result half to even, while
TFLite rescales int32 accumulators in fixed point (rounding twice, ties away from zero) and rounds pooled means
away from zero. Given the same int8 inputs every op agrees with the .tflite within one int8 step; over a deep
network those steps compound, so probabilities can drift further apart while top-1 decisions almost never do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kwsauto._io import atomic_write_bytes
from kwsauto.errors import ConfigError, KwsautoError
from kwsauto.export._graph import SUPPORTED_OPS, OpSpec
from kwsauto.export._metadata import METADATA_NAME, MissingMetadataError, metadata_json
from kwsauto.export._onnx import INPUT_NAME, OUTPUT_NAME
from kwsauto.export._quantize import QuantizedGraph, QuantizedOp, QuantParams
from kwsauto.models._same_padding import tf_same_pads

__all__ = [
    "ONNX_INT8_OPS",
    "OPSET",
    "int8_agreement",
    "onnx_int8_bytes",
    "read_onnx_metadata",
    "write_onnx_int8",
]

_LOGGER = logging.getLogger(__name__)
OPSET = 13  # the first opset with per-channel (``axis``) QuantizeLinear/DequantizeLinear
ONNX_INT8_OPS = SUPPORTED_OPS  # every op of the int8 graph has a QDQ form
_ACTIVATIONS = ("NONE", "RELU", "RELU6")


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as err:  # pragma: no cover - a dependency of the export extra
        raise KwsautoError("ONNX export needs onnx; install it with `pip install onnx`.") from err
    return onnx


def onnx_int8_bytes(
    qgraph: QuantizedGraph, *, labels: Sequence[str] = (), feature_params: dict[str, Any] | None = None
) -> bytes:
    """The serialized int8 QDQ ONNX model of ``qgraph``, with ``labels`` and ``feature_params`` as metadata."""
    onnx = _onnx()
    model = _Builder(onnx, qgraph).model(metadata_json(labels, feature_params).decode("utf-8"))
    onnx.checker.check_model(model, full_check=True)  # a model that fails here is a bug in this writer
    return model.SerializeToString()


def write_onnx_int8(
    qgraph: QuantizedGraph, path: Path, *, labels: Sequence[str], feature_params: dict[str, Any]
) -> Path:
    """Write ``qgraph`` as an int8 QDQ ONNX model at ``path`` atomically; returns ``path``."""
    data = onnx_int8_bytes(qgraph, labels=labels, feature_params=feature_params)
    path = Path(path)
    atomic_write_bytes(path, data)
    _LOGGER.info("Wrote %s (%d bytes)", path, len(data))
    return path


def read_onnx_metadata(path: Path) -> dict[str, Any]:
    """The ``kwsauto`` metadata (labels, feature parameters) of an ONNX file written by :func:`write_onnx_int8`."""
    onnx = _onnx()
    from google.protobuf.message import DecodeError

    path = Path(path)
    try:
        model = onnx.load_model_from_string(path.read_bytes())
    except OSError as err:
        raise KwsautoError(f"Cannot read ONNX model {path}: {err.strerror}; check the path.") from None
    except (DecodeError, ValueError, RuntimeError):
        raise KwsautoError(
            f"{path} is not an ONNX model (its protobuf does not parse); pass a .onnx file."
        ) from None
    if not model.graph.node:
        raise KwsautoError(f"{path} is not an ONNX model (it has no graph); pass a .onnx file.")
    for prop in model.metadata_props:
        if prop.key == METADATA_NAME:
            try:
                return json.loads(prop.value)
            except ValueError:
                raise KwsautoError(
                    f"{path} has corrupt metadata (it does not parse); export it again."
                ) from None
    raise MissingMetadataError(f"{path} has no {METADATA_NAME!r} metadata; export it with kwsauto's write_onnx_int8.")


def int8_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of rows of two score arrays ``[n, classes]`` whose top-1 class is the same.

    Compares two runtimes of one quantized model (e.g. ONNX Runtime and LiteRT), where outputs may differ by a
    rounding step but the decision should not.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or a.shape != b.shape or a.size == 0:
        raise ConfigError(
            f"Top-1 agreement needs two non-empty score arrays of one shape [n, classes], but got shapes "
            f"{a.shape} and {b.shape}; pass both models' outputs on the same inputs."
        )
    return float((a.argmax(axis=1) == b.argmax(axis=1)).mean())


class _Builder:
    """Builds the ``ModelProto`` of one quantized graph: initializers, QDQ pairs, and one float op per graph op."""

    def __init__(self, onnx: Any, qgraph: QuantizedGraph) -> None:
        self.onnx = onnx
        self.q = qgraph
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.value: dict[int, str] = {}  # graph tensor index → name of its dequantized (float) value
        self.relu6_bounds: list[str] = []

    def _const(self, name: str, array: np.ndarray) -> str:
        array = np.array(array, order="C")  # unlike np.ascontiguousarray, keeps a scalar 0-d
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def _node(self, op_type: str, inputs: Sequence[str], output: str, **attributes: Any) -> str:
        self.nodes.append(
            self.onnx.helper.make_node(op_type, list(inputs), [output], name=output, **attributes)
        )
        return output

    def _dequantize_const(self, name: str, q: np.ndarray, params: QuantParams) -> str:
        """An integer constant and its ``DequantizeLinear`` (per channel along axis 0 when it has many scales)."""
        scale = np.asarray(params.scale, dtype=np.float32)
        zero_point = np.asarray(params.zero_point, dtype=q.dtype)
        attributes: dict[str, Any] = {}
        if params.per_channel:
            attributes["axis"] = 0
        else:
            scale, zero_point = scale.reshape(()), zero_point.reshape(())
        inputs = [self._const(f"{name}/quantized", q), self._const(f"{name}/scale", scale)]
        inputs.append(self._const(f"{name}/zero_point", zero_point))
        return self._node("DequantizeLinear", inputs, name, **attributes)

    def _qdq(self, src: str, index: int) -> str:
        """Round ``src`` to the int8 grid of graph tensor ``index``: QuantizeLinear then DequantizeLinear."""
        params = self.q.activations[index]
        name = OUTPUT_NAME if index == self.q.graph.output else self.q.graph.tensors[index].name
        scale = self._const(f"{name}/scale", np.float32(params.scale[0]))
        zero_point = self._const(f"{name}/zero_point", np.int8(params.zero_point[0]))
        quantized = self._node("QuantizeLinear", [src, scale, zero_point], f"{name}/int8")
        self.value[index] = self._node("DequantizeLinear", [quantized, scale, zero_point], name)
        return self.value[index]

    def _activation(self, op: OpSpec, src: str) -> str:
        if op.activation == "RELU":
            return self._node("Relu", [src], f"{op.name}/relu")
        if op.activation == "RELU6":
            if not self.relu6_bounds:  # one pair of Clip bounds, shared by every ReLU6
                self.relu6_bounds = [
                    self._const("relu6/min", np.float32(0.0)),
                    self._const("relu6/max", np.float32(6.0)),
                ]
            return self._node("Clip", [src, *self.relu6_bounds], f"{op.name}/relu6")
        return src

    def model(self, metadata: str) -> Any:
        helper, tp, graph = self.onnx.helper, self.onnx.TensorProto, self.q.graph
        input_shape = graph.tensors[graph.input].shape
        if len(input_shape) != 4:
            raise ConfigError(
                f"The int8 graph's input has shape {input_shape}, not [1, frames, coeffs, channels]; "
                "trace the model with a [channels, frames, coeffs] input shape."
            )
        _, h, w, c = input_shape
        self._qdq(INPUT_NAME, graph.input)
        for qop in self.q.ops:
            self._op(qop)
        if graph.output not in self.value:
            raise ConfigError(
                "The int8 graph never computes its output; trace it again with trace_int8_graph."
            )
        classes = graph.tensors[graph.output].shape[-1]
        onnx_graph = helper.make_graph(
            self.nodes,
            "kwsauto_int8",
            [helper.make_tensor_value_info(INPUT_NAME, tp.FLOAT, ["batch", c, h, w])],
            [helper.make_tensor_value_info(OUTPUT_NAME, tp.FLOAT, ["batch", classes])],
            self.initializers,
        )
        opset = helper.make_opsetid("", OPSET)
        model = helper.make_model(
            onnx_graph,
            opset_imports=[opset],
            producer_name="kwsauto",
            doc_string="kwsauto int8 keyword spotter",
            ir_version=helper.find_min_ir_version_for([opset]),
        )
        helper.set_model_props(model, {METADATA_NAME: metadata})
        return model

    def _op(self, qop: QuantizedOp) -> None:
        op = qop.spec
        if op.kind not in ONNX_INT8_OPS or op.activation not in _ACTIVATIONS:
            raise ConfigError(
                f"Op {op.kind} ({op.name}, fused activation {op.activation}) has no int8 ONNX writer; "
                f"supported ops: {', '.join(ONNX_INT8_OPS)}, activations: {', '.join(_ACTIVATIONS)}."
            )
        inputs = [self.value[t] for t in op.inputs]
        if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            out = self._conv(qop, inputs[0])
        elif op.kind == "FULLY_CONNECTED":
            out = self._fully_connected(qop, inputs[0])
        elif op.kind == "ADD":
            out = self._node("Add", inputs, f"{op.name}/float")
        elif op.kind == "AVERAGE_POOL_2D":
            if self.q.graph.tensors[op.output].shape[1:3] != (1, 1):
                raise ConfigError(
                    f"Average pooling {op.module or op.name} is not global (output "
                    f"{self.q.graph.tensors[op.output].shape}); only global pooling can be written, use "
                    "AdaptiveAvgPool2d(1)."
                )
            out = self._node("GlobalAveragePool", inputs, f"{op.name}/float")
        elif op.kind == "RESHAPE":
            out = self._flatten(op, inputs[0])
        else:  # SOFTMAX
            out = self._node("Softmax", inputs, f"{op.name}/float", axis=-1)
        self._qdq(self._activation(op, out), op.output)

    def _weights(self, qop: QuantizedOp) -> tuple[np.ndarray, QuantParams, np.ndarray, QuantParams]:
        if qop.weights is None or qop.weight_quant is None or qop.bias is None or qop.bias_quant is None:
            raise ConfigError(
                f"Op {qop.spec.kind} ({qop.spec.name}) has no quantized weights or bias; "
                "quantize the graph with quantize_graph before exporting it."
            )
        return qop.weights, qop.weight_quant, qop.bias, qop.bias_quant

    def _conv(self, qop: QuantizedOp, src: str) -> str:
        op = qop.spec
        weights, weight_quant, bias, bias_quant = self._weights(qop)
        if op.kind == "CONV_2D":
            weights, group = weights.transpose(0, 3, 1, 2), 1  # [out, kh, kw, in] → [out, in, kh, kw]
        else:
            weights = weights.transpose(3, 0, 1, 2)  # [1, kh, kw, ch] → [ch, 1, kh, kw]
            group = weights.shape[0]
        kh, kw = weights.shape[2:]
        per_channel = QuantParams(
            weight_quant.scale, weight_quant.zero_point, 0
        )  # output channels are axis 0 now
        return self._node(
            "Conv",
            [
                src,
                self._dequantize_const(f"{op.name}/weights", weights, per_channel),
                self._dequantize_const(f"{op.name}/bias", bias, bias_quant),
            ],
            f"{op.name}/float",
            kernel_shape=[kh, kw],
            strides=list(op.stride),
            pads=self._pads(op, kh, kw),
            dilations=[1, 1],
            group=group,
        )

    def _pads(self, op: OpSpec, kh: int, kw: int) -> list[int]:
        """ONNX ``pads`` ``[top, left, bottom, right]`` of TFLite's SAME or VALID padding on this op's input."""
        _, h, w, _ = self.q.graph.tensors[op.inputs[0]].shape
        (sh, sw), out = op.stride, self.q.graph.tensors[op.output].shape
        if op.padding == "SAME":
            (top, bottom), (left, right) = tf_same_pads(h, kh, sh), tf_same_pads(w, kw, sw)
        else:
            top = bottom = left = right = 0
        if ((h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1) != out[1:3]:
            raise ConfigError(
                f"Conv {op.module or op.name} ({op.padding} padding, kernel {kh}x{kw}, stride {sh}x{sw}) maps "
                f"input {h}x{w} to {out[1]}x{out[2]}, which no padding explains; trace the graph again."
            )
        return [top, left, bottom, right]

    def _flatten(self, op: OpSpec, src: str) -> str:
        """RESHAPE to ``[batch, features]``, flattening NHWC as TFLite does (the order the FC's columns follow)."""
        shape = self.q.graph.tensors[op.inputs[0]].shape
        out = self.q.graph.tensors[op.output].shape
        if len(out) != 2 or out[1] != int(np.prod(shape[1:])):
            raise ConfigError(
                f"Reshape {op.module or op.name} from {shape} to {out} is not a flatten to [batch, features]; "
                "only flattening can be written, use nn.Flatten(1)."
            )
        if len(shape) == 4 and shape[1] * shape[2] > 1:
            src = self._node("Transpose", [src], f"{op.name}/nhwc", perm=[0, 2, 3, 1])
        return self._node("Flatten", [src], f"{op.name}/float", axis=1)

    def _fully_connected(self, qop: QuantizedOp, src: str) -> str:
        op = qop.spec
        weights, weight_quant, bias, bias_quant = self._weights(qop)
        if len(self.q.graph.tensors[op.inputs[0]].shape) != 2:
            raise ConfigError(
                f"Fully-connected {op.module or op.name} takes a {self.q.graph.tensors[op.inputs[0]].shape} "
                "input; only [batch, features] can be written, flatten before the nn.Linear."
            )
        return self._node(
            "Gemm",
            [
                src,
                self._dequantize_const(f"{op.name}/weights", weights, weight_quant),  # [out, in]
                self._dequantize_const(f"{op.name}/bias", bias, bias_quant),
            ],
            f"{op.name}/float",
            transB=1,
        )
