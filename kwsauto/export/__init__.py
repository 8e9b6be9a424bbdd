"""Export: the int8 graph, its quantization, and the deployable files (TFLite, C array, ONNX, C front end), verified."""

from kwsauto.export._c_array import c_array_source, write_c_array
from kwsauto.export._firmware import FIRMWARE_FILES, FirmwareFiles, ModelIO, read_model_io, write_firmware
from kwsauto.export._formats import EXPORT_FORMATS, ExportFile, export_files
from kwsauto.export._frontend_c import InputQuant, frontend_sources, write_frontend
from kwsauto.export._frontend_host import CFrontend, FrontendRam, frontend_ram
from kwsauto.export._graph import SUPPORTED_OPS, Int8Graph, OpSpec, TensorSpec, trace_int8_graph
from kwsauto.export._metadata import METADATA_NAME, MissingMetadataError, metadata_json
from kwsauto.export._onnx_int8 import (
    ONNX_INT8_OPS,
    int8_agreement,
    onnx_int8_bytes,
    read_onnx_metadata,
    write_onnx_int8,
)
from kwsauto.export._postprocess import (
    DEFAULT_DETECTION,
    NON_KEYWORD_LABELS,
    POSTPROCESS_FILES,
    DetectionSettings,
    fires,
    postprocess_sources,
    write_postprocess,
)
from kwsauto.export._postprocess_host import CPostprocess
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
    "DEFAULT_DETECTION",
    "EXPORT_FORMATS",
    "FIRMWARE_FILES",
    "METADATA_NAME",
    "NON_KEYWORD_LABELS",
    "ONNX_INT8_OPS",
    "POSTPROCESS_FILES",
    "SUPPORTED_OPS",
    "ArenaUsage",
    "CFrontend",
    "CPostprocess",
    "DetectionSettings",
    "ExportFile",
    "FirmwareFiles",
    "FrontendRam",
    "InputQuant",
    "Int8Graph",
    "MissingMetadataError",
    "ModelIO",
    "OpSpec",
    "QuantParams",
    "QuantizedGraph",
    "QuantizedOp",
    "TensorSpec",
    "c_array_source",
    "dequantize_outputs",
    "export_files",
    "fires",
    "frontend_ram",
    "frontend_sources",
    "int8_agreement",
    "metadata_json",
    "onnx_int8_bytes",
    "placeholder_quantized_graph",
    "postprocess_sources",
    "quantize_features",
    "quantize_graph",
    "read_model_io",
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
    "write_firmware",
    "write_frontend",
    "write_onnx_int8",
    "write_postprocess",
    "write_tflite",
]
