"""Export: the int8 graph, its quantization, and the deployable files (TFLite, C array, ONNX), verified."""

from kwsauto.export._c_array import c_array_source, write_c_array
from kwsauto.export._formats import EXPORT_FORMATS, ExportFile, export_files
from kwsauto.export._graph import SUPPORTED_OPS, Int8Graph, OpSpec, TensorSpec, trace_int8_graph
from kwsauto.export._metadata import METADATA_NAME, MissingMetadataError, metadata_json
from kwsauto.export._onnx_int8 import (
    ONNX_INT8_OPS,
    int8_agreement,
    onnx_int8_bytes,
    read_onnx_metadata,
    write_onnx_int8,
)
from kwsauto.export._quantize import (
    QuantizedGraph,
    QuantizedOp,
    QuantParams,
    placeholder_quantized_graph,
    quantize_graph,
)
from kwsauto.export._tflite import read_tflite_metadata, tflite_bytes, tflite_size_bytes, write_tflite
from kwsauto.export._verify import (
    ArenaUsage,
    dequantize_outputs,
    quantize_features,
    run_litert,
    run_tflm,
    tflite_io_quant,
    tflite_op_names,
    tflm_arena_bytes,
    tflm_arena_usage,
)

__all__ = [
    "EXPORT_FORMATS",
    "ExportFile",
    "METADATA_NAME",
    "MissingMetadataError",
    "ONNX_INT8_OPS",
    "SUPPORTED_OPS",
    "ArenaUsage",
    "Int8Graph",
    "OpSpec",
    "QuantParams",
    "QuantizedGraph",
    "QuantizedOp",
    "TensorSpec",
    "c_array_source",
    "dequantize_outputs",
    "export_files",
    "int8_agreement",
    "metadata_json",
    "onnx_int8_bytes",
    "placeholder_quantized_graph",
    "quantize_features",
    "quantize_graph",
    "read_onnx_metadata",
    "read_tflite_metadata",
    "run_litert",
    "run_tflm",
    "tflite_bytes",
    "tflite_io_quant",
    "tflite_op_names",
    "tflite_size_bytes",
    "tflm_arena_bytes",
    "tflm_arena_usage",
    "trace_int8_graph",
    "write_c_array",
    "write_onnx_int8",
    "write_tflite",
]
