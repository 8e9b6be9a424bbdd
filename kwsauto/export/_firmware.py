"""The C files a firmware needs beside ``model_int8.tflite``: front end, model settings, host example, README.

Everything is read from the .tflite itself (labels and feature parameters from its ``kwsauto`` metadata, the
input/output quantization and operators from its flatbuffer), so any kwsauto model gets the same files, and
every file is generated before the first one is written: a model or config the C cannot serve writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kwsauto._io import atomic_write_text
from kwsauto.errors import ConfigError, KwsautoError
from kwsauto.export._formats import EXPORT_FORMATS
from kwsauto.export._frontend_c import InputQuant, _float, check_expressible, frontend_sources
from kwsauto.export._frontend_host import FrontendRam, c_compiler, frontend_ram
from kwsauto.export._postprocess import DEFAULT_DETECTION, DetectionSettings, postprocess_sources
from kwsauto.export._tflite import read_tflite_metadata
from kwsauto.export._tflite_reader import read_int8_graph
from kwsauto.export._verify import tflite_io_quant, tflite_op_names, tflm_arena_usage
from kwsauto.features import FeatureConfig

__all__ = ["FIRMWARE_FILES", "TFLM_RESOLVER_METHODS", "FirmwareFiles", "ModelIO", "read_model_io", "write_firmware"]

_LOGGER = logging.getLogger(__name__)
# card.json key → file name, for everything written beside model_int8.tflite
FIRMWARE_FILES = {f.key: f.name for f in EXPORT_FORMATS["tflite"][1:]}
# TFLite builtin → the MicroMutableOpResolver method that registers its kernel
TFLM_RESOLVER_METHODS = {
    "CONV_2D": "AddConv2D",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "FULLY_CONNECTED": "AddFullyConnected",
    "ADD": "AddAdd",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "MAX_POOL_2D": "AddMaxPool2D",
    "RESHAPE": "AddReshape",
    "SOFTMAX": "AddSoftmax",
    "MEAN": "AddMean",
    "PAD": "AddPad",
    "QUANTIZE": "AddQuantize",
    "DEQUANTIZE": "AddDequantize",
}
ARENA_MARGIN_FRACTION = 0.05  # TFLM releases differ in their persistent allocations by a few percent
ARENA_MARGIN_MIN_BYTES = 1024


@dataclass(frozen=True)
class ModelIO:
    """What firmware must know of a .tflite model: labels, features, int8 quantization, operators."""

    labels: tuple[str, ...]
    features: FeatureConfig
    input_quant: InputQuant
    output_quant: InputQuant
    ops: tuple[str, ...]  # distinct builtins, in first-use order


@dataclass(frozen=True)
class FirmwareFiles:
    """The files written, the arena to allocate, and the front end's RAM as compiled (None without a compiler);
    ``device``: what the arena is sized for."""

    paths: tuple[Path, ...]
    arena_bytes: int
    frontend_ram: FrontendRam | None
    device: str = ""


def read_model_io(tflite: Path) -> ModelIO:
    """Labels, feature config, quantization and operators of ``tflite``, checked to fit together."""
    tflite = Path(tflite)
    try:
        meta = read_tflite_metadata(tflite)
    except KwsautoError as err:
        raise KwsautoError(f"{err} The C front end needs the model's feature parameters.") from None
    if not meta.get("features") or not meta.get("labels"):
        raise KwsautoError(
            f"{tflite} carries no feature parameters or labels in its metadata, so its front end cannot be "
            "generated; export it again with kwsauto."
        )
    features = FeatureConfig.from_dict(meta["features"])
    check_expressible(features)
    (in_scale, in_zero), (out_scale, out_zero) = tflite_io_quant(tflite)
    graph = read_int8_graph(tflite)
    shape = tuple(graph.tensors[graph.input].shape)
    expected = (1, features.n_frames, features.n_features, 1)
    if shape != expected:
        raise ConfigError(
            f"{tflite} takes input {list(shape)}, but its feature parameters give {list(expected)} "
            f"(frames x coefficients); its metadata does not describe this model, export it again."
        )
    ops = tuple(dict.fromkeys(tflite_op_names(tflite)))
    unknown = [op for op in ops if op not in TFLM_RESOLVER_METHODS]
    if unknown:
        raise ConfigError(
            f"{tflite} uses {', '.join(unknown)}, which kws_model_settings.h cannot register; "
            f"supported: {', '.join(TFLM_RESOLVER_METHODS)}."
        )
    return ModelIO(
        tuple(meta["labels"]), features, InputQuant(in_scale, in_zero), InputQuant(out_scale, out_zero), ops
    )


def write_firmware(
    tflite: Path,
    folder: Path,
    *,
    device: str,
    device_arena_bytes: int,
    host_arena_bytes: int | None = None,
    detection: DetectionSettings = DEFAULT_DETECTION,
) -> FirmwareFiles:
    """Write :data:`FIRMWARE_FILES` for ``tflite`` into ``folder``, its arena sized for ``device``.

    ``device_arena_bytes`` is the footprint's arena estimate for the device (``kwsauto.device``);
    ``host_arena_bytes`` TFLM's smallest arena as measured on this host (measured here when not given);
    ``detection`` the setting ``kws_postprocess.h`` carries (calibration replaces it).
    """
    tflite = Path(tflite)
    model = read_model_io(tflite)
    host_arena = host_arena_bytes if host_arena_bytes is not None else tflm_arena_usage(tflite).arena_bytes
    arena = _arena_bytes(host_arena, device_arena_bytes)
    template = resources.files("kwsauto.export") / "c"
    texts = dict(frontend_sources(model.features, model.input_quant))
    texts["kws_model_settings.h"] = settings_header(model, tflite.name, device, host_arena, device_arena_bytes, arena)
    texts.update(postprocess_sources(model.labels, model.output_quant.scale, model.output_quant.zero_point, detection))
    texts["main.c"] = (template / "main.c").read_text(encoding="utf-8")
    texts["README.md"] = (
        (template / "README.md.in").read_text(encoding="utf-8")
        .replace("@@MODEL@@", tflite.name)
        .replace("@@KIND@@", model.features.kind.upper())
        .replace("@@RATE@@", str(model.features.sample_rate_hz))
        .replace("@@HOP@@", str(model.features.frame_stride_samples))
    )
    folder = Path(folder)
    paths = tuple(folder / name for name in texts)
    for path, text in zip(paths, texts.values()):
        atomic_write_text(path, text)
    ram = None
    try:
        c_compiler()
    except KwsautoError as err:
        _LOGGER.warning("%s The card keeps the estimated DSP RAM.", err)
    else:
        ram = frontend_ram(folder)
    _LOGGER.info("Wrote the C front end and model settings for %s into %s", tflite.name, folder)
    return FirmwareFiles(paths, arena, ram, device)


def _arena_bytes(host_arena: int, device_arena: int) -> int:
    base = max(host_arena, device_arena)
    margin = max(ARENA_MARGIN_MIN_BYTES, int(base * ARENA_MARGIN_FRACTION))
    return -(-(base + margin) // 16) * 16


def _c_string(text: str) -> str:
    """A C string literal of ``text``'s UTF-8 bytes (octal escapes outside printable ASCII)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        out.append(f"\\{char}" if char in '"\\' else char if 32 <= byte < 127 and char != "?" else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def settings_header(
    model: ModelIO, tflite_name: str, device: str, host_arena: int, device_arena: int, arena: int
) -> str:
    """``kws_model_settings.h``: labels, input shape, quantization, arena size and the op resolver."""
    f = model.features
    labels = ",\n".join(f"    {_c_string(label)}" for label in model.labels)
    registrations = "\n".join(
        f"    TF_LITE_ENSURE_STATUS(resolver.{TFLM_RESOLVER_METHODS[op]}());  /* {op} */" for op in model.ops
    )
    return f"""/* kws_model_settings.h: what firmware needs to run {tflite_name} (model_int8.h/.cc) in TFLite Micro.
 * Generated by kwsauto with the model; KWS_INPUT_SCALE and KWS_INPUT_ZERO_POINT are
 * defined identically in kws_frontend.h, so both headers can be included together. */
#ifndef KWS_MODEL_SETTINGS_H_
#define KWS_MODEL_SETTINGS_H_

#define KWS_NUM_LABELS {len(model.labels)}
static const char *const kws_labels[KWS_NUM_LABELS] = {{
{labels},
}};

/* input tensor [1][KWS_INPUT_FRAMES][KWS_INPUT_COEFFICIENTS][1] int8, {f.kind.upper()} at {f.sample_rate_hz} Hz */
#define KWS_INPUT_FRAMES {f.n_frames}
#define KWS_INPUT_COEFFICIENTS {f.n_features}
#define KWS_INPUT_SCALE {_float(model.input_quant.scale)} /* real = scale * (q - zero point) */
#define KWS_INPUT_ZERO_POINT ({model.input_quant.zero_point})
/* output tensor [1][KWS_NUM_LABELS] int8 class probabilities */
#define KWS_OUTPUT_SCALE {_float(model.output_quant.scale)}
#define KWS_OUTPUT_ZERO_POINT ({model.output_quant.zero_point})

/* Tensor arena for {device}: the larger of TFLM's smallest arena measured on the host ({host_arena} bytes;
 * 64-bit build, reference kernels, so pointer-holding structs are larger than on a Cortex-M) and the estimate
 * for {device} ({device_arena} bytes; 32-bit pointers and the optimized kernels' scratch buffers), plus a margin
 * of {ARENA_MARGIN_FRACTION:.0%} (at least {ARENA_MARGIN_MIN_BYTES} bytes) for TFLM releases whose persistent
 * allocations differ, rounded up to 16 bytes. */
#define KWS_TENSOR_ARENA_SIZE {arena}

#ifdef __cplusplus
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

#define KWS_OP_COUNT {len(model.ops)}
typedef tflite::MicroMutableOpResolver<KWS_OP_COUNT> KwsOpResolver;

/* Registers exactly the model's operators. */
static inline TfLiteStatus kws_register_ops(KwsOpResolver &resolver) {{
{registrations}
    return kTfLiteOk;
}}
#endif

#endif /* KWS_MODEL_SETTINGS_H_ */
"""
