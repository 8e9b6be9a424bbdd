"""Latency on this machine: an int8 graph timed in LiteRT, for measured device profiles (``host``).

The graph is serialized with placeholder weights (the writer's file has the trained model's size and ops, and
int8 kernels do the same work whatever the weights), loaded in LiteRT's default interpreter with one thread, and
invoked until at least ``_MIN_RUNS`` runs and ``_MIN_SECONDS`` have passed after ``_WARMUP`` runs; the median is
the latency. Results are cached per graph, so a search asks LiteRT once per architecture.
"""

from __future__ import annotations

import functools
import logging
import statistics
import time

import numpy as np

from kwsauto.errors import KwsautoError
from kwsauto.export._graph import Int8Graph

__all__ = ["litert_latency_ms"]

_LOGGER = logging.getLogger(__name__)
_WARMUP = 5
_MIN_RUNS = 20
_MAX_RUNS = 2000
_MIN_SECONDS = 0.2


@functools.lru_cache(maxsize=256)
def litert_latency_ms(graph: Int8Graph) -> float:
    """Median wall time in ms of one LiteRT ``invoke()`` of ``graph`` on this machine (1 thread)."""
    from kwsauto.export._quantize import placeholder_quantized_graph
    from kwsauto.export._tflite import tflite_bytes

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise KwsautoError(
            "Measuring latency on the host device needs LiteRT; install it with `pip install ai-edge-litert`."
        ) from None
    data = tflite_bytes(placeholder_quantized_graph(graph))
    try:
        interpreter = Interpreter(model_content=data, num_threads=1)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        raise KwsautoError(
            f"LiteRT cannot load the graph to time it: {' '.join(str(err).split())}."
        ) from None
    details = interpreter.get_input_details()[0]
    interpreter.set_tensor(details["index"], np.zeros(details["shape"], dtype=details["dtype"]))
    for _ in range(_WARMUP):
        interpreter.invoke()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < _MAX_RUNS and (len(times) < _MIN_RUNS or time.perf_counter() - started < _MIN_SECONDS):
        t0 = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - t0)
    latency_ms = statistics.median(times) * 1e3
    _LOGGER.debug(
        "LiteRT latency of a %d-op graph: %.4f ms (median of %d runs)", len(graph.ops), latency_ms, len(times)
    )
    return latency_ms
