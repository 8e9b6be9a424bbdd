"""Latency of an int8 graph on a device: a per-kernel cycle model, its calibration rows, and the DSP front end.

Inference cycles are the sum over ops of

* MACs x cycles/MAC of the op's kernel: 1x1 CONV_2D (``pointwise``), kxk CONV_2D (``im2col``), DEPTHWISE_CONV_2D,
  FULLY_CONNECTED;
* output elements x ``per_output`` for those (requantize, clamp, store);
* weighted input elements x ``per_element`` for the MAC-free ops (``ELEMENT_WEIGHTS``);
* ``per_op`` for every invocation (interpreter dispatch, kernel setup);

divided by the clock. Measured profiles (``host``) are timed in LiteRT instead. The DSP front end costs
``dsp_per_sample`` cycles per sample entering the FFT, frames x FFT length, scaled by log2(FFT length) / 8.

``CALIBRATION`` lists the published measurements the constants of ``_profiles.CORES`` were fitted to, one row per
source line. ``fit`` rows must be predicted within ``TOLERANCE`` (+-35 %); ``faster`` rows come from engines that
beat TFLM + CMSIS-NN (X-CUBE-AI, Bosch HALE, Plumerai), so the prediction must not undercut them; ``older`` rows come
from an older TFLM stack, so the prediction must not exceed them. MLPerf Tiny latency is inference only (no DSP).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kwsauto.device._profiles import CORES, CycleModel, DeviceProfile
from kwsauto.export._graph import Int8Graph, OpSpec

if TYPE_CHECKING:
    from kwsauto.features import FeatureConfig

__all__ = [
    "CALIBRATION",
    "ELEMENT_WEIGHTS",
    "TOLERANCE",
    "CalibrationRow",
    "calibration_graph",
    "dsp_cycles",
    "dsp_ms",
    "inference_cycles",
    "inference_ms",
    "op_cycles",
    "predicted_ms",
    "row_holds",
]

TOLERANCE = 0.35
# Relative cost per input element of the MAC-free kernels: ADD requantizes two inputs, SOFTMAX evaluates an
# exponential per element, AVERAGE_POOL_2D sums with SIMD, RESHAPE is a copy (4 bytes per word).
ELEMENT_WEIGHTS = {"ADD": 4.0, "AVERAGE_POOL_2D": 1.0, "SOFTMAX": 30.0, "RESHAPE": 0.25}
_MAC_KERNELS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def op_cycles(op: OpSpec, graph: Int8Graph, cycles: CycleModel) -> float:
    """Cycles of one op of ``graph`` under ``cycles``."""
    if op.kind in _MAC_KERNELS:
        if op.kind == "CONV_2D":
            per_mac = cycles.pointwise if op.weight_shape[1:3] == (1, 1) else cycles.im2col
        elif op.kind == "DEPTHWISE_CONV_2D":
            per_mac = cycles.depthwise
        else:
            per_mac = cycles.fully_connected
        work = op.macs * per_mac + graph.tensors[op.output].n_bytes * cycles.per_output
    else:
        work = graph.tensors[op.inputs[0]].n_bytes * ELEMENT_WEIGHTS.get(op.kind, 1.0) * cycles.per_element
    return work + cycles.per_op


def inference_cycles(graph: Int8Graph, cycles: CycleModel) -> float:
    """Cycles of one inference of ``graph`` under ``cycles``."""
    return sum(op_cycles(op, graph, cycles) for op in graph.ops)


def inference_ms(graph: Int8Graph, device: DeviceProfile) -> float:
    """Milliseconds of one inference of ``graph`` on ``device``: modelled, or timed in LiteRT when measured."""
    if device.measured:
        from kwsauto.device._host import litert_latency_ms

        return litert_latency_ms(graph)
    return inference_cycles(graph, device.cycles) / device.clock_hz * 1e3


def dsp_cycles(features: FeatureConfig, cycles: CycleModel) -> float:
    """Cycles of the MFE/MFCC front end for one window: every frame's FFT input, N log N scaled to N = 256."""
    samples = features.n_frames * features.fft_length
    return samples * cycles.dsp_per_sample * math.log2(features.fft_length) / 8


def dsp_ms(features: FeatureConfig, device: DeviceProfile) -> float:
    """Milliseconds of the DSP front end for one window on ``device`` (estimated, also on measured profiles)."""
    return dsp_cycles(features, device.cycles) / device.clock_hz * 1e3


# The published models, built with kwsauto's own backbones: (arch, width, classes, input [C, H, W], label).
_MODELS = {
    "kws": ("dscnn", 1.0, 12, (1, 49, 10), "DS-CNN (MLPerf KWS), 49x10 MFCC, 12 classes"),
    "vww": ("mobilenetv1", 0.25, 2, (3, 96, 96), "MobileNetV1 0.25 (MLPerf VWW), 96x96x3, 2 classes"),
    "person": ("mobilenetv1", 0.25, 2, (1, 96, 96), "MobileNetV1 0.25 (TFLM person detection), 96x96x1"),
    "mnv2-030": ("mobilenetv2", 0.30, 1000, (3, 80, 80), "MobileNetV2 0.30, 80x80x3, 1000 classes"),
}
ROLES = ("fit", "faster", "older")


@dataclass(frozen=True)
class CalibrationRow:
    """One published latency: model, board, core and clock, software stack, and where it was published."""

    key: str
    model: str  # a key of _MODELS
    board: str
    core: str  # a key of _profiles.CORES
    clock_hz: float
    published_ms: float
    stack: str
    role: str
    source: str

    @property
    def label(self) -> str:
        return _MODELS[self.model][4]


def _row(
    key: str, model: str, board: str, core: str, mhz: float, ms: float, stack: str, role: str, src: str
) -> CalibrationRow:
    return CalibrationRow(key, model, board, core, mhz * 1e6, ms, stack, role, src)


_V05 = "mlcommons/tiny_results_v0.5 closed/reference/results/Nucleo-L4R5ZI"
_V07 = "mlcommons/tiny_results_v0.7 closed/renesas/results/EK-RA6M4"
_OCTO = "mlcommons/tiny_results_v1.0 closed/OctoML/results/microtvm_cmsis_nn"
_KRAI = "mlcommons/tiny_results_v1.1 closed/Krai/results/README.md"
_BOSCH = "mlcommons/tiny_results_v1.1 closed/bosch/results"
_PERF = "performance/results.txt, 'Median throughput is"
# Latency = 1000 / median throughput (inf./sec.) of the EEMBC runner's performance mode.
# fmt: off
CALIBRATION: tuple[CalibrationRow, ...] = (
    _row("mlperf-v1.0-octoml-l4r5zi-kws", "kws", "NUCLEO-L4R5ZI", "cortex-m4", 120, 1000 / 10.019,
         "microTVM + CMSIS-NN kernels, Zephyr", "fit", f"{_OCTO}/NUCLEO_L4R5ZI/kws/{_PERF} 10.019' (v1.1 Krai: 10.019)"),
    _row("mlperf-v1.0-octoml-l4r5zi-vww", "vww", "NUCLEO-L4R5ZI", "cortex-m4", 120, 1000 / 3.320,
         "microTVM + CMSIS-NN kernels, Zephyr", "fit", f"{_OCTO}/NUCLEO_L4R5ZI/vww/{_PERF} 3.320' (v1.1 Krai: 3.324)"),
    _row("mlperf-v0.7-renesas-ra6m4-kws", "kws", "EK-RA6M4", "cortex-m33", 200, 1000 / 19.774,
         "TFLM + CMSIS-NN, GCC 8.3", "fit", f"{_V07}/kws/{_PERF} 19.774'"),
    _row("mlperf-v0.7-renesas-ra6m4-vww", "vww", "EK-RA6M4", "cortex-m33", 200, 1000 / 6.159,
         "TFLM + CMSIS-NN, GCC 8.3", "fit", f"{_V07}/vww/{_PERF} 6.159'"),
    _row("mlperf-v1.0-octoml-nrf5340-kws", "kws", "nRF5340 DK", "cortex-m33", 128, 1000 / 13.143,
         "microTVM + CMSIS-NN kernels, Zephyr", "fit", f"{_OCTO}/NRF5340-DK/kws/{_PERF} 13.143' (v1.1 Krai: 13.074)"),
    _row("mlperf-v1.0-octoml-nrf5340-vww", "vww", "nRF5340 DK", "cortex-m33", 128, 1000 / 4.310,
         "microTVM + CMSIS-NN kernels, Zephyr", "fit", f"{_OCTO}/NRF5340-DK/vww/{_PERF} 4.310' (v1.1 Krai: 4.286)"),
    _row("plumerai-blog-2021-f746-mobilenetv2", "mnv2-030", "STM32F746G-Discovery", "cortex-m7", 216, 129.0,
         "TFLM 2.5 + CMSIS-NN", "fit", "https://blog.plumerai.com/2021/10/cortex-m-inference-software/ table row "
         "'TensorFlow Lite for Microcontrollers 2.5 (with CMSIS-NN) 129 ms'"),
    _row("esp-tflite-micro-s3-person-detection", "person", "ESP32-S3", "esp32-s3", 240, 54.0,
         "TFLM + ESP-NN", "fit", "espressif/esp-tflite-micro README.md, Performance Comparison row "
         "'ESP32-S3 | Person Detection | 2300ms | 54ms | 240MHz'"),
    _row("mlperf-v0.5-reference-l4r5zi-kws", "kws", "Nucleo-L4R5ZI", "cortex-m4", 120, 1000 / 5.497,
         "TFLM 2.3.1 + CMSIS-NN (2020), mbed, GCC 6", "older", f"{_V05}/kws/{_PERF} 5.497'"),
    _row("mlperf-v0.5-reference-l4r5zi-vww", "vww", "Nucleo-L4R5ZI", "cortex-m4", 120, 1000 / 1.665,
         "TFLM 2.3.1 + CMSIS-NN (2020), mbed, GCC 6", "older", f"{_V05}/vww/{_PERF} 1.665'"),
    _row("mlperf-v1.1-krai-l4r5zi-xcubeai-kws", "kws", "NUCLEO-L4R5ZI", "cortex-m4", 120, 1000 / 13.759,
         "X-CUBE-AI 8.0", "faster", f"{_KRAI}, X-CUBE-AI-8.0.0 table, Keyword Spotting 13.759 inf./sec"),
    _row("mlperf-v1.1-krai-l4r5zi-xcubeai-vww", "vww", "NUCLEO-L4R5ZI", "cortex-m4", 120, 1000 / 4.522,
         "X-CUBE-AI 8.0", "faster", f"{_KRAI}, X-CUBE-AI-8.0.0 table, Person Detection 4.522 inf./sec"),
    _row("mlperf-v1.1-bosch-l4r5zi-kws", "kws", "NUCLEO-L4R5ZI", "cortex-m4", 120, 1000 / 15.954,
         "Bosch HALE 1.0", "faster", f"{_BOSCH}/NUCLEO_L4R5ZI/kws/{_PERF} 15.954'"),
    _row("mlperf-v1.1-bosch-l4r5zi-vww", "vww", "NUCLEO-L4R5ZI", "cortex-m4", 120, 1000 / 5.533,
         "Bosch HALE 1.0", "faster", f"{_BOSCH}/NUCLEO_L4R5ZI/vww/{_PERF} 5.533'"),
    _row("mlperf-v1.0-plumerai-f746-kws", "kws", "DISCO-F746NG", "cortex-m7", 216, 19.1,
         "Plumerai inference engine", "faster", "mlcommons/tiny_results_v1.0 closed/plumerai/README.md, KWS F746 19.1 ms"),
    _row("mlperf-v1.0-plumerai-f746-vww", "vww", "DISCO-F746NG", "cortex-m7", 216, 57.0,
         "Plumerai inference engine", "faster", "mlcommons/tiny_results_v1.0 closed/plumerai/README.md, VWW F746 57.0 ms"),
    _row("mlperf-v1.1-krai-h7a3zi-xcubeai-kws", "kws", "NUCLEO-H7A3ZI-Q", "cortex-m7", 280, 1000 / 60.988,
         "X-CUBE-AI 8.0", "faster", f"{_KRAI}, X-CUBE-AI-8.0.0 table, NUCLEO_H7A3ZI Keyword Spotting 60.988 inf./sec"),
    _row("mlperf-v1.1-krai-h7a3zi-xcubeai-vww", "vww", "NUCLEO-H7A3ZI-Q", "cortex-m7", 280, 1000 / 19.867,
         "X-CUBE-AI 8.0", "faster", f"{_KRAI}, X-CUBE-AI-8.0.0 table, NUCLEO_H7A3ZI Person Detection 19.867 inf./sec"),
    _row("mlperf-v1.1-bosch-g0b1re-kws", "kws", "NUCLEO-G0B1RE", "cortex-m0plus", 64, 1000 / 1.472,
         "Bosch HALE 1.0", "faster", f"{_BOSCH}/NUCLEO_G0B1RE/kws/{_PERF} 1.472'"),
    _row("mlperf-v1.1-bosch-g0b1re-vww", "vww", "NUCLEO-G0B1RE", "cortex-m0plus", 64, 1000 / 0.535,
         "Bosch HALE 1.0", "faster", f"{_BOSCH}/NUCLEO_G0B1RE/vww/{_PERF} 0.535'"),
)
# fmt: on


@functools.cache
def calibration_graph(model: str) -> Int8Graph:
    """The int8 graph of a calibration model (a key of the rows' ``model``), built from kwsauto's backbones."""
    from kwsauto.export._graph import trace_int8_graph
    from kwsauto.models import ModelSpec, create_model

    arch, width, classes, shape, _ = _MODELS[model]
    return trace_int8_graph(create_model(ModelSpec(arch, width), classes, shape), shape)


def predicted_ms(row: CalibrationRow, cycles: CycleModel | None = None) -> float:
    """The model's inference latency for ``row``: its graph under its core's cycle model at its clock."""
    return inference_cycles(calibration_graph(row.model), cycles or CORES[row.core]) / row.clock_hz * 1e3


def row_holds(row: CalibrationRow, predicted: float) -> bool:
    """Whether ``predicted`` agrees with the row: within +-35 % (fit), not below (faster), not above (older)."""
    if row.role == "fit":
        return abs(predicted / row.published_ms - 1) <= TOLERANCE
    if row.role == "faster":
        return predicted >= row.published_ms
    return predicted <= row.published_ms
