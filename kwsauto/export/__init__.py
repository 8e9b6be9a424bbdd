"""Export: the int8 graph, ONNX float and int8, and (with TFLite) the deployable files."""

from kwsauto.export._graph import SUPPORTED_OPS, Int8Graph, OpSpec, TensorSpec, trace_int8_graph

__all__ = ["SUPPORTED_OPS", "Int8Graph", "OpSpec", "TensorSpec", "trace_int8_graph"]
