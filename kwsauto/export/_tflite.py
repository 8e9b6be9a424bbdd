"""The .tflite flatbuffer of a :class:`QuantizedGraph`, written without TensorFlow.

The model is built with the TFLite schema's object API (``ai_edge_litert.schema_py_generated``): one subgraph,
int8 activations and weights, int32 biases, only the TFLite Micro builtins of ``SUPPORTED_OPS``. Constant data
is 16-byte aligned in the file, as the schema's ``force_align: 16`` asks and TFLM (which reads weights in place)
needs. Labels and feature parameters travel in a ``kwsauto`` metadata entry holding JSON.

Every scalar field is written even at its default value, so the file size depends on shapes, names and labels
only, never on weight values: :func:`tflite_size_bytes` sizes a model exactly before it is trained.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kwsauto._io import atomic_write_bytes
from kwsauto.errors import KwsautoError
from kwsauto.export._graph import Int8Graph, OpSpec
from kwsauto.export._metadata import METADATA_NAME, MissingMetadataError, metadata_json
from kwsauto.export._quantize import QuantizedGraph, QuantizedOp, QuantParams, placeholder_quantized_graph

__all__ = [
    "METADATA_NAME",
    "OP_VERSIONS",
    "read_tflite_metadata",
    "tflite_bytes",
    "tflite_size_bytes",
    "write_tflite",
]

_LOGGER = logging.getLogger(__name__)
BUFFER_ALIGNMENT = 16
# Builtin op versions for int8 kernels, as the TFLite converter writes them.
OP_VERSIONS = {
    "CONV_2D": 3,
    "DEPTHWISE_CONV_2D": 3,
    "FULLY_CONNECTED": 4,
    "ADD": 2,
    "AVERAGE_POOL_2D": 2,
    "RESHAPE": 1,
    "SOFTMAX": 2,
}


def _schema() -> Any:
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError as err:  # pragma: no cover - a dependency of the export extra
        raise KwsautoError(
            "Writing .tflite files needs the LiteRT schema; install it with `pip install ai-edge-litert`."
        ) from err
    return schema_py_generated


def tflite_bytes(
    qgraph: QuantizedGraph, *, labels: Sequence[str] = (), feature_params: dict[str, Any] | None = None
) -> bytes:
    """The serialized .tflite model of ``qgraph``, with ``labels`` and ``feature_params`` as metadata."""
    import flatbuffers

    model = _Writer(_schema(), qgraph).model(metadata_json(labels, feature_params))
    builder = flatbuffers.Builder(1024)
    builder.ForceDefaults(True)  # write every scalar, so no field's presence depends on its value
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def write_tflite(
    qgraph: QuantizedGraph, path: Path, *, labels: Sequence[str], feature_params: dict[str, Any]
) -> Path:
    """Write ``qgraph`` as a .tflite file at ``path`` atomically; returns ``path``."""
    data = tflite_bytes(qgraph, labels=labels, feature_params=feature_params)
    path = Path(path)
    atomic_write_bytes(path, data)
    _LOGGER.info("Wrote %s (%d bytes)", path, len(data))
    return path


def tflite_size_bytes(
    graph: Int8Graph, *, labels: Sequence[str] = (), feature_params: dict[str, Any] | None = None
) -> int:
    """The exact size of the .tflite file ``graph`` will be written as, known before training."""
    return len(tflite_bytes(placeholder_quantized_graph(graph), labels=labels, feature_params=feature_params))


def read_tflite_metadata(path: Path) -> dict[str, Any]:
    """The ``kwsauto`` metadata (labels, feature parameters) of a .tflite file written by :func:`write_tflite`."""
    from kwsauto.export._verify import read_tflite_file

    schema = _schema()
    path = Path(path)
    data = read_tflite_file(path)
    try:
        model = schema.Model.GetRootAs(data, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            if entry.Name() is not None and entry.Name().decode() == METADATA_NAME:
                return json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes().decode("utf-8"))
    except (
        struct.error,
        IndexError,
        ValueError,
        TypeError,
        AttributeError,
    ):  # JSON/Unicode errors are ValueErrors
        raise KwsautoError(f"{path} has corrupt metadata (it does not parse); export it again.") from None
    raise MissingMetadataError(f"{path} has no {METADATA_NAME!r} metadata; export it with kwsauto's write_tflite.")


class _Writer:
    """Builds the schema's ``ModelT`` for one quantized graph: tensors, buffers, op codes, operators."""

    def __init__(self, schema: Any, qgraph: QuantizedGraph) -> None:
        self.s = schema
        self.q = qgraph
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [self._buffer(None)]  # buffer 0: the empty sentinel
        self.opcodes: dict[str, int] = {}

    def _buffer(self, data: bytes | None) -> Any:
        buffer = _aligned_buffer_type(self.s)()
        buffer.data = data
        return buffer

    def _quant(self, params: QuantParams) -> Any:
        quant = self.s.QuantizationParametersT()
        quant.scale = [float(x) for x in params.scale]
        quant.zeroPoint = [int(x) for x in params.zero_point]
        quant.quantizedDimension = params.axis
        return quant

    def _tensor(
        self, name: str, shape: Sequence[int], dtype: int, params: QuantParams | None, data: bytes | None
    ) -> int:
        tensor = self.s.TensorT()
        tensor.name = name
        tensor.shape = np.asarray(shape, dtype=np.int32)
        tensor.type = dtype
        tensor.quantization = self._quant(params) if params is not None else None
        if data is not None:
            self.buffers.append(self._buffer(data))
            tensor.buffer = len(self.buffers) - 1
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def _opcode(self, kind: str) -> int:
        if kind not in self.opcodes:
            self.opcodes[kind] = len(self.opcodes)
        return self.opcodes[kind]

    def model(self, metadata: bytes) -> Any:
        s, graph = self.s, self.q.graph
        for t in graph.tensors:
            self._tensor(t.name, t.shape, s.TensorType.INT8, self.q.activations[t.index], None)
        operators = [self._operator(qop) for qop in self.q.ops]

        subgraph = s.SubGraphT()
        subgraph.tensors = self.tensors
        subgraph.inputs = [graph.input]
        subgraph.outputs = [graph.output]
        subgraph.operators = operators
        subgraph.name = "main"

        codes = []
        for kind in self.opcodes:  # insertion order = opcode index
            code = s.OperatorCodeT()
            code.builtinCode = getattr(s.BuiltinOperator, kind)
            code.deprecatedBuiltinCode = min(code.builtinCode, 127)
            code.version = OP_VERSIONS[kind]
            codes.append(code)

        self.buffers.append(self._buffer(metadata))
        entry = s.MetadataT()
        entry.name = METADATA_NAME
        entry.buffer = len(self.buffers) - 1

        model = s.ModelT()
        model.version = 3
        model.description = "kwsauto int8 keyword spotter"
        model.operatorCodes = codes
        model.subgraphs = [subgraph]
        model.buffers = self.buffers
        model.metadata = [entry]
        return model

    def _operator(self, qop: QuantizedOp) -> Any:
        s, op = self.s, qop.spec
        inputs = list(op.inputs)
        if qop.weights is not None:
            assert qop.weight_quant is not None and qop.bias_quant is not None and qop.bias is not None
            inputs.append(
                self._tensor(
                    f"{op.name}/weights",
                    qop.weights.shape,
                    s.TensorType.INT8,
                    qop.weight_quant,
                    np.ascontiguousarray(qop.weights, dtype=np.int8).tobytes(),
                )
            )
            inputs.append(
                self._tensor(
                    f"{op.name}/bias",
                    qop.bias.shape,
                    s.TensorType.INT32,
                    qop.bias_quant,
                    np.ascontiguousarray(qop.bias, dtype="<i4").tobytes(),
                )
            )
        if op.kind == "RESHAPE":
            shape = self.q.graph.tensors[op.output].shape
            inputs.append(
                self._tensor(
                    f"{op.name}/shape",
                    (len(shape),),
                    s.TensorType.INT32,
                    None,
                    np.asarray(shape, dtype="<i4").tobytes(),
                )
            )
        operator = s.OperatorT()
        operator.opcodeIndex = self._opcode(op.kind)
        operator.inputs = inputs
        operator.outputs = [op.output]
        operator.builtinOptionsType, operator.builtinOptions = self._options(op)
        return operator

    def _options(self, op: OpSpec) -> tuple[int, Any]:
        s = self.s
        padding = s.Padding.SAME if op.padding == "SAME" else s.Padding.VALID
        act = getattr(s.ActivationFunctionType, op.activation)
        if op.kind == "CONV_2D":
            o = s.Conv2DOptionsT(
                padding=padding, strideH=op.stride[0], strideW=op.stride[1], fusedActivationFunction=act
            )
            return s.BuiltinOptions.Conv2DOptions, o
        if op.kind == "DEPTHWISE_CONV_2D":
            o = s.DepthwiseConv2DOptionsT(
                padding=padding,
                strideH=op.stride[0],
                strideW=op.stride[1],
                depthMultiplier=1,
                fusedActivationFunction=act,
            )
            return s.BuiltinOptions.DepthwiseConv2DOptions, o
        if op.kind == "FULLY_CONNECTED":
            return s.BuiltinOptions.FullyConnectedOptions, s.FullyConnectedOptionsT(
                fusedActivationFunction=act
            )
        if op.kind == "ADD":
            return s.BuiltinOptions.AddOptions, s.AddOptionsT(fusedActivationFunction=act)
        if op.kind == "AVERAGE_POOL_2D":
            _, h, w, _ = self.q.graph.tensors[op.inputs[0]].shape
            if self.q.graph.tensors[op.output].shape[1:3] != (1, 1):
                raise KwsautoError(
                    f"Average pooling {op.module or op.name} is not global (output "
                    f"{self.q.graph.tensors[op.output].shape}); only global pooling can be written, use "
                    "AdaptiveAvgPool2d(1)."
                )
            o = s.Pool2DOptionsT(
                padding=s.Padding.VALID,
                strideH=1,
                strideW=1,
                filterHeight=h,
                filterWidth=w,
                fusedActivationFunction=act,
            )
            return s.BuiltinOptions.Pool2DOptions, o
        if op.kind == "RESHAPE":
            return s.BuiltinOptions.ReshapeOptions, s.ReshapeOptionsT(
                newShape=list(self.q.graph.tensors[op.output].shape)
            )
        if op.kind == "SOFTMAX":
            return s.BuiltinOptions.SoftmaxOptions, s.SoftmaxOptionsT(beta=1.0)
        raise KwsautoError(
            f"Op {op.kind} ({op.name}) has no int8 TFLite writer; supported: {', '.join(OP_VERSIONS)}."
        )


_ALIGNED: dict[int, type] = {}


def _aligned_buffer_type(schema: Any) -> type:
    """``BufferT`` whose data vector starts on a 16-byte boundary (the Python codegen ignores ``force_align``)."""
    if id(schema) not in _ALIGNED:

        class AlignedBufferT(schema.BufferT):  # type: ignore[name-defined, misc]
            def Pack(self, builder: Any) -> int:  # the flatbuffers object API's name
                data = None
                if self.data is not None:
                    payload = bytes(self.data)
                    builder.StartVector(1, len(payload), BUFFER_ALIGNMENT)
                    builder.head = builder.head - len(payload)
                    builder.Bytes[builder.head : builder.head + len(payload)] = payload
                    data = builder.EndVector()
                schema.BufferStart(builder)
                if data is not None:
                    schema.BufferAddData(builder, data)
                schema.BufferAddOffset(builder, self.offset)
                schema.BufferAddSize(builder, self.size)
                return schema.BufferEnd(builder)

        _ALIGNED[id(schema)] = AlignedBufferT
    return _ALIGNED[id(schema)]
