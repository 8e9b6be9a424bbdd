"""The footprint of an int8 graph on a device: RAM, flash, MACs and latency, before any training.

RAM is TFLite Micro's arena (activations planned as TFLM plans them, plus its persistent allocations) plus the
DSP front end's RAM; the application's raw audio buffer is not counted (Edge Impulse's convention). Flash is the
.tflite flatbuffer plus the TFLM kernel code its ops pull in.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from kwsauto.device._planner import Buffer, plan_arena
from kwsauto.device._profiles import DeviceProfile
from kwsauto.export._graph import Int8Graph, OpSpec
from kwsauto.features import FeatureConfig

__all__ = ["Footprint", "estimate_footprint", "dsp_ram_bytes", "KERNEL_CODE_BYTES"]

# Flash taken by each op's CMSIS-NN/TFLM kernel (code + constant tables), counted once per op kind used, plus
# the interpreter core. Estimates from arm-none-eabi-size of TFLM builds with CMSIS-NN at -Os.
KERNEL_CODE_BYTES = {
    "_runtime": 24 * 1024,
    "CONV_2D": 9 * 1024,
    "DEPTHWISE_CONV_2D": 8 * 1024,
    "FULLY_CONNECTED": 3 * 1024,
    "ADD": 2 * 1024,
    "AVERAGE_POOL_2D": 2 * 1024,
    "RESHAPE": 512,
    "SOFTMAX": 3 * 1024,
}
# Persistent arena allocations per tensor (TfLiteEvalTensor, TfLiteTensor handles), per op (TfLiteNode,
# registration pointers, op data) and per output channel of a quantized conv/FC (multiplier + shift).
_PERSISTENT_PER_TENSOR = 24
_PERSISTENT_PER_OP = 96
_PERSISTENT_PER_CHANNEL = 8
_PERSISTENT_FIXED = 1024


@dataclass(frozen=True)
class Footprint:
    """What a model costs on a device. ``ram_bytes = arena_bytes + dsp_ram_bytes``."""

    device: str
    ram_bytes: int
    arena_bytes: int
    activation_bytes: int
    persistent_bytes: int
    dsp_ram_bytes: int
    flash_bytes: int
    model_bytes: int
    code_bytes: int
    macs: int
    params: int
    latency_ms: float
    inference_ms: float
    dsp_ms: float
    peak_ops: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


def dsp_ram_bytes(config: FeatureConfig) -> int:
    """RAM of the MFE/MFCC front end: frame, FFT work area, power spectrum, mel filter tables, one output frame.

    Features are quantized frame by frame straight into the model's int8 input tensor, which the arena counts.
    """
    bins = config.fft_length // 2 + 1
    frame = config.fft_length * 4  # float32 frame, zero-padded to the FFT length
    fft = config.fft_length * 4 * 2  # complex float32 work area
    power = bins * 4
    mel = (bins * 2) * 4 + config.n_filters * 4 * 2  # sparse triangular weights + per-filter bounds
    dct = config.n_filters * config.n_coefficients * 4 if config.kind == "mfcc" else 0
    out_frame = config.n_filters * 4
    return frame + fft + power + mel + dct + out_frame


def _dsp_cycles(config: FeatureConfig, device: DeviceProfile) -> float:
    return config.window_samples * device.dsp_cycles_per_sample * (math.log2(config.fft_length) / 8)


def _scratch_bytes(op: OpSpec, in_shape: tuple[int, ...]) -> int:
    """CMSIS-NN's scratch buffer for the op (im2col of int16 values), freed after the op."""
    if op.kind == "CONV_2D" and op.weight_shape[1:3] != (1, 1):
        _, kh, kw, in_c = op.weight_shape
        return 2 * in_c * kh * kw * 2
    return 0


def _serialized_bytes(graph: Int8Graph) -> int:
    """Size of the .tflite flatbuffer: constant buffers (16-byte aligned) and metadata of tensors and ops."""
    total = 2048  # header, operator codes, subgraph, label/feature metadata
    for op in graph.ops:
        total += 64  # Operator table, inputs/outputs vectors, builtin options
        if op.n_weights:
            channels = op.weight_shape[0] if op.kind != "DEPTHWISE_CONV_2D" else op.weight_shape[3]
            total += _round16(op.n_weights) + _round16(4 * op.bias_size)
            total += 2 * (160 + 12 * channels)  # weight + bias tensors: name, shape, per-channel scale/zero point
    total += len(graph.tensors) * 120  # activation tensors: name, shape, per-tensor quantization
    return total


def _round16(n: int) -> int:
    return (n + 15) // 16 * 16


def estimate_footprint(graph: Int8Graph, features: FeatureConfig, device: DeviceProfile) -> Footprint:
    """The footprint of ``graph`` fed by ``features`` on ``device``; shapes only, no weights needed."""
    buffers = [Buffer(t.n_bytes, *graph.lifetimes()[t.index], t.name) for t in graph.tensors]
    for i, op in enumerate(graph.ops):
        scratch = _scratch_bytes(op, graph.tensors[op.inputs[0]].shape)
        if scratch:
            buffers.append(Buffer(scratch, i, i, f"{op.name}:scratch"))
    activation, offsets = plan_arena(buffers)
    peak = [b.name for b, off in zip(buffers, offsets) if off + b.size >= activation - 16]
    channels = sum(op.bias_size for op in graph.ops)
    persistent = (
        _PERSISTENT_FIXED
        + _PERSISTENT_PER_TENSOR * (len(graph.tensors) + 2 * sum(1 for op in graph.ops if op.n_weights))
        + _PERSISTENT_PER_OP * len(graph.ops)
        + _PERSISTENT_PER_CHANNEL * channels
    )
    arena = activation + persistent
    dsp = dsp_ram_bytes(features)
    model_bytes = _serialized_bytes(graph)
    kinds = {op.kind for op in graph.ops}
    code = KERNEL_CODE_BYTES["_runtime"] + sum(KERNEL_CODE_BYTES.get(k, 2048) for k in kinds)
    cycles = sum(op.macs * device.cpm(op.kind) + device.cycles_per_op for op in graph.ops)
    inference_ms = cycles / device.clock_hz * 1e3
    dsp_ms = _dsp_cycles(features, device) / device.clock_hz * 1e3
    return Footprint(
        device=device.name,
        ram_bytes=arena + dsp,
        arena_bytes=arena,
        activation_bytes=activation,
        persistent_bytes=persistent,
        dsp_ram_bytes=dsp,
        flash_bytes=model_bytes + code,
        model_bytes=model_bytes,
        code_bytes=code,
        macs=graph.macs,
        params=graph.params,
        latency_ms=round(inference_ms + dsp_ms, 3),
        inference_ms=round(inference_ms, 3),
        dsp_ms=round(dsp_ms, 3),
        peak_ops=tuple(peak),
    )
