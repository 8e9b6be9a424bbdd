"""Read a .tflite file back into an :class:`Int8Graph`, so any TFLite model can be profiled like a trial.

Only what the footprint needs: op kinds, activation tensors with their shapes, weight shapes (for MACs and
params), strides. An op outside the builtins TFLM runs for kwsauto models is named in a one-line error.
"""

from __future__ import annotations

from pathlib import Path

from kwsauto.errors import KwsautoError
from kwsauto.export._graph import SUPPORTED_OPS, Int8Graph, OpSpec, TensorSpec
from kwsauto.export._verify import _model_object, read_tflite_file

__all__ = ["read_int8_graph"]

_ACTIVATIONS = {0: "NONE", 1: "RELU", 3: "RELU6"}


def read_int8_graph(path: Path) -> Int8Graph:
    """The op list of ``path``'s main subgraph as an :class:`Int8Graph` (tensor indices renumbered).

    A file whose tables are consistent but whose ops make no sense (a convolution without a 4-D weight, say) is a
    one-line error too: this reads files from anywhere.
    """
    path = Path(path)
    model = _model_object(read_tflite_file(path))
    try:
        return _graph_of(model, path)
    except (IndexError, KeyError, ValueError, TypeError, AttributeError, ZeroDivisionError) as exc:
        raise KwsautoError(
            f"{path} is not a TFLite model kwsauto can read ({type(exc).__name__}: {str(exc)[:80]}); export it again."
        ) from None


def _graph_of(model, path: Path) -> Int8Graph:
    from ai_edge_litert import schema_py_generated as schema

    graph = model.subgraphs[0]
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [names.get(max(c.builtinCode, c.deprecatedBuiltinCode), str(c.builtinCode)) for c in model.operatorCodes]
    constant = {i for i, t in enumerate(graph.tensors) if t.buffer and model.buffers[t.buffer].data is not None}
    index: dict[int, int] = {}
    tensors: list[TensorSpec] = []

    def activation(i: int) -> int:
        if i not in index:
            t = graph.tensors[i]
            name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
            index[i] = len(tensors)
            tensors.append(TensorSpec(len(tensors), name, tuple(int(d) for d in t.shape)))
        return index[i]

    activation(graph.inputs[0])
    ops = []
    for n, op in enumerate(graph.operators or []):
        kind = codes[op.opcodeIndex]
        if kind not in SUPPORTED_OPS:
            raise KwsautoError(
                f"{path} uses op {kind}, which kwsauto cannot profile for TFLite Micro; supported: {', '.join(SUPPORTED_OPS)}."
            )
        inputs = [i for i in op.inputs if i >= 0 and i not in constant]
        weights = [graph.tensors[i] for i in op.inputs if i in constant and kind != "RESHAPE"]
        out = graph.tensors[op.outputs[0]]
        out_shape = tuple(int(d) for d in out.shape)
        weight_shape = tuple(int(d) for d in weights[0].shape) if weights else ()
        bias = int(weights[1].shape[0]) if len(weights) > 1 else 0
        options = op.builtinOptions
        stride = (getattr(options, "strideH", 1), getattr(options, "strideW", 1)) if options else (1, 1)
        act = _ACTIVATIONS.get(getattr(options, "fusedActivationFunction", 0), "NONE") if options else "NONE"
        macs = 0
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            _, h, w, c = out_shape
            kh, kw = weight_shape[1:3]
            macs = h * w * c * kh * kw * (1 if kind == "DEPTHWISE_CONV_2D" else weight_shape[3])
        elif kind == "FULLY_CONNECTED":
            macs = weight_shape[0] * weight_shape[1]
        ops.append(
            OpSpec(
                kind,
                f"{kind.lower()}_{n}",
                tuple(activation(i) for i in inputs),
                activation(op.outputs[0]),
                macs=macs,
                weight_shape=weight_shape,
                bias_size=bias,
                stride=stride,
                activation=act,
            )
        )
    return Int8Graph(tuple(tensors), tuple(ops), index[graph.inputs[0]], index[graph.outputs[0]])
