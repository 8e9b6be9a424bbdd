"""Measured host latency per 1 s clip: feature extraction and inference, each timed on its own.

Every stage runs ``warmup`` times untimed (first-call allocations, lazy kernel setup), then ``repeats`` times
timed one clip at a time, as a device would run it; the median and the 90th percentile are reported. These are
host numbers, for comparing models and runtimes on this machine; device latency is the footprint's estimate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from kwsauto.errors import KwsautoError
from kwsauto.features import FeatureConfig, FeatureExtractor

__all__ = ["LatencyStat", "features_latency", "litert_latency", "onnxruntime_latency", "time_call"]


@dataclass(frozen=True)
class LatencyStat:
    """Wall-clock milliseconds of one stage for one clip: median and p90 over ``runs`` timed calls."""

    stage: str  # "features" or "inference"
    runtime: str
    variant: str | None
    median_ms: float
    p90_ms: float
    min_ms: float
    runs: int
    warmup_runs: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def time_call(call: Callable[[], object], *, repeats: int, warmup: int) -> tuple[float, float, float]:
    """``(median_ms, p90_ms, min_ms)`` of ``call`` over ``repeats`` runs after ``warmup`` untimed ones."""
    if repeats < 1 or warmup < 0:
        raise KwsautoError(
            f"Latency needs repeats >= 1 and warmup >= 0, but got repeats={repeats}, warmup={warmup}."
        )
    for _ in range(warmup):
        call()
    times = np.empty(repeats)
    for i in range(repeats):
        started = time.perf_counter()
        call()
        times[i] = time.perf_counter() - started
    ms = times * 1e3
    return float(np.median(ms)), float(np.percentile(ms, 90)), float(ms.min())


def features_latency(
    config: FeatureConfig, wave: torch.Tensor | None, *, repeats: int, warmup: int
) -> LatencyStat:
    """The MFE/MFCC front end on one 1 s window ``[samples]`` (noise when no clip is given), on one thread."""
    extractor = FeatureExtractor(config)
    if wave is None:
        wave = 0.1 * torch.randn(config.window_samples, generator=torch.Generator().manual_seed(0))
    batch = wave[None, : config.window_samples]  # [1, samples]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core, as the runtimes below (and a device) run it; also steadier
    try:
        stats = time_call(lambda: extractor(batch), repeats=repeats, warmup=warmup)
    finally:
        torch.set_num_threads(threads)
    return LatencyStat("features", f"torch ({config.kind.upper()})", None, *stats, repeats, warmup)


def litert_latency(
    path: Path, int8_input: np.ndarray | None, *, repeats: int, warmup: int, variant: str = "int8_tflite"
) -> LatencyStat:
    """One int8 input (zeros when None) through LiteRT's optimized builtin kernels, one thread."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(
            model_path=str(path),
            num_threads=1,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        raise KwsautoError(f"LiteRT cannot load {path}: {' '.join(str(err).split())}.") from None
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    shape = tuple(inp["shape"])
    x = (
        np.zeros(shape, inp["dtype"])
        if int8_input is None
        else np.asarray(int8_input, inp["dtype"]).reshape(shape)
    )

    def call() -> np.ndarray:
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(out["index"])

    stats = time_call(call, repeats=repeats, warmup=warmup)
    return LatencyStat("inference", "LiteRT", variant, *stats, repeats, warmup)


def onnxruntime_latency(
    path: Path, features: np.ndarray | None, *, repeats: int, warmup: int, variant: str
) -> LatencyStat:
    """One float feature map ``[1, 1, frames, coeffs]`` (zeros when None) through ONNX Runtime's CPU provider."""
    import onnxruntime as ort

    from kwsauto.export._onnx import INPUT_NAME

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    errors = (
        state.Fail,
        state.InvalidArgument,
        state.InvalidGraph,
        state.InvalidProtobuf,
        state.NoSuchFile,
        RuntimeError,
    )
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except errors as err:
        raise KwsautoError(f"ONNX Runtime cannot load {path}: {' '.join(str(err).split())[:200]}.") from None
    first = session.get_inputs()[0]
    if features is None:  # the model's own input shape, its symbolic batch axis as 1
        features = np.zeros([d if isinstance(d, int) else 1 for d in first.shape], np.float32)
    x = {first.name or INPUT_NAME: np.asarray(features, dtype=np.float32)}
    stats = time_call(lambda: session.run(None, x), repeats=repeats, warmup=warmup)
    return LatencyStat("inference", "ONNX Runtime", variant, *stats, repeats, warmup)
