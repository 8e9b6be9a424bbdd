"""The footprint of an int8 graph on a device: RAM, flash, MACs and latency, before any training.

RAM is TFLite Micro's arena (activations and kernel scratch planned as TFLM plans them, plus its persistent
allocations) plus the DSP front end's RAM; the application's raw audio buffer is not counted (Edge Impulse's convention). Flash is the
.tflite flatbuffer (its exact size: the writer serializes the graph with placeholder weights) plus the TFLM
kernel code its ops pull in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from kwsauto.device._latency import dsp_ms, inference_ms
from kwsauto.device._planner import Buffer, plan_arena
from kwsauto.device._profiles import DeviceProfile
from kwsauto.export._graph import Int8Graph, OpSpec
from kwsauto.export._tflite import tflite_size_bytes
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
# TFLM's persistent ("tail") allocations, fitted to the RecordingMicroAllocator of the tflite-micro package
# (a 64-bit host build) to within 0.1 % on MobileNetV1/V2 at every width and DS-CNN (benchmarks/
# device_fidelity.py): one TfLiteEvalTensor (3 words) per tensor of the flatbuffer, one NodeAndRegistration
# (8 words) per op, two TfLiteTensor handles (input, output) with their quantization, each conv/FC's per-channel
# multiplier and shift (8 bytes per output channel), each op's OpData, and the allocator's own objects.
# Words are the target's pointer size: the structs that hold pointers halve on a 32-bit Cortex-M.
def _persistent_bytes(graph: Int8Graph, pointer_bytes: int) -> int:
    n_tensors = len(graph.tensors) + 2 * sum(1 for op in graph.ops if op.n_weights) + sum(
        1 for op in graph.ops if op.kind == "RESHAPE"  # the reshape's shape tensor
    )
    convs = sum(1 for op in graph.ops if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"))
    adds = sum(1 for op in graph.ops if op.kind == "ADD")
    channels = sum(op.bias_size for op in graph.ops if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))
    words = (
        3 * n_tensors  # TfLiteEvalTensor
        + 8 * len(graph.ops)  # NodeAndRegistration
        + 24  # persistent TfLiteTensor handles of the input and output, with quantization
        + 6 * (convs + adds) + 16  # pointer-holding parts of the OpData structs
        + 66 + 1.16 * n_tensors  # the allocator's own objects
    )
    fixed = 8 * channels + 32 * convs + 16 * adds
    return int(round(words * pointer_bytes + fixed))


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
    """RAM of the exported C front end (``kws_frontend_t``, the layout of ``kwsauto/export/c/kws_frontend.h.in``).

    The frame being filled (int16), four counters, the float FFT work area, for MFCC one frame's log-mel energies,
    and the ring of the window's rows (MFE: int8, final; MFCC: float cepstra, normalized when read). The tables are
    ``const`` (flash) and the file has no writable statics. ``tests/export/test_frontend_c.py`` checks this against
    ``sizeof`` as the compiler lays it out; the export's card records the compiled figure.
    """
    frame = config.fft_length * 2 + 4 * 4  # int16 frame + frame_fill, skip, frames_done, next_row
    work = config.fft_length * 4
    if config.kind == "mfcc":
        log_mel, rows = config.n_filters * 4, config.n_frames * config.n_coefficients * 4
    else:
        log_mel, rows = 0, config.n_frames * config.n_filters
    return -(-(frame + work + log_mel + rows) // 4) * 4  # the struct's 4-byte alignment


def _scratch_bytes(op: OpSpec, device: DeviceProfile) -> int:
    """The op's kernel scratch buffer (CMSIS-NN's int16 im2col), alive during the op only.

    ``arm_convolve_s8_get_buffer_size``: 2 x in_ch x kh x kw x int16 for a non-1x1 conv (on every core);
    ``arm_depthwise_conv_s8_opt_get_buffer_size``: ch x kh x kw x int16 for a depthwise conv on cores with the
    DSP extension, except the 3x3 kernel with padding <= 1, which has its own scratch-free path. TFLM's
    reference kernels (the host, the tflite-micro package) need none; ESP-NN's scratch is not modelled.
    """
    if device.kernels != "cmsis-nn":
        return 0
    if op.kind == "CONV_2D" and op.weight_shape[1:3] != (1, 1):
        _, kh, kw, in_c = op.weight_shape
        return 2 * in_c * kh * kw * 2
    if op.kind == "DEPTHWISE_CONV_2D" and device.dsp_extension and op.weight_shape[1:3] != (3, 3):
        _, kh, kw, channels = op.weight_shape
        return channels * kh * kw * 2
    return 0


def estimate_footprint(
    graph: Int8Graph, features: FeatureConfig, device: DeviceProfile, labels: Sequence[str] = ()
) -> Footprint:
    """The footprint of ``graph`` fed by ``features`` on ``device``; shapes only, no weights needed.

    ``labels`` go into the .tflite metadata, so the flatbuffer size is exact when they are the model's labels.
    """
    pointer_bytes = device.pointer_bytes
    lifetimes = graph.lifetimes()
    buffers = [Buffer(t.n_bytes, *lifetimes[t.index], t.name) for t in graph.tensors]
    for i, op in enumerate(graph.ops):
        scratch = _scratch_bytes(op, device)
        if scratch:
            buffers.append(Buffer(scratch, i, i, f"{op.name}:scratch"))
    activation, offsets = plan_arena(buffers)
    peak = [b.name for b, off in zip(buffers, offsets) if off + b.size >= activation - 16]
    persistent = _persistent_bytes(graph, pointer_bytes)
    arena = activation + persistent
    dsp = dsp_ram_bytes(features)
    model_bytes = tflite_size_bytes(graph, labels=labels, feature_params=features.to_dict())
    kinds = {op.kind for op in graph.ops}
    code = KERNEL_CODE_BYTES["_runtime"] + sum(KERNEL_CODE_BYTES.get(k, 2048) for k in kinds)
    inference_time = inference_ms(graph, device)  # calibrated cycle model; LiteRT on this machine for "host"
    dsp_time = dsp_ms(features, device)
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
        latency_ms=round(inference_time + dsp_time, 3),
        inference_ms=round(inference_time, 3),
        dsp_ms=round(dsp_time, 3),
        peak_ops=tuple(peak),
    )
