"""Run a written .tflite file in TFLite Micro and in LiteRT, and measure the arena TFLM really allocates.

LiteRT (``ai_edge_litert``) is the reference interpreter; TFLite Micro's Python package (``tflite_micro``, reference
kernels, a 64-bit host build) is what a microcontroller runs. Both take int8 inputs shaped as the model's input
tensor without its batch axis, e.g. ``[n, frames, coeffs, 1]``; :func:`quantize_features` makes them from float
features ``[n, 1, frames, coeffs]`` with the model's input scale and zero point.

TFLM reports its errors on the C ``stderr``; while a TFLM interpreter is built here, file descriptor 2 is
redirected to read them, so these helpers are for one thread at a time.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import struct
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kwsauto.errors import KwsautoError

__all__ = [
    "ArenaUsage",
    "read_tflite_file",
    "dequantize_outputs",
    "quantize_features",
    "run_litert",
    "run_tflm",
    "tflite_io_quant",
    "tflite_op_names",
    "tflm_arena_bytes",
    "tflm_arena_usage",
]

_LOGGER = logging.getLogger(__name__)
_MIN_ARENA_BYTES = 1 << 20
_ARENA_STEP = 16
_MAX_ARENA_BYTES = 1 << 30
_MISSING_OP = re.compile(r"Didn't find op for builtin opcode '([A-Z0-9_]+)'")
_ALLOCATION = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_SECTION = re.compile(r"'([^']+)' used (\d+) bytes")


@dataclass(frozen=True)
class ArenaUsage:
    """TFLM's arena for one model, from its ``RecordingMicroAllocator`` and from trial allocations.

    ``arena_bytes`` is the smallest ``tensor_arena`` (a multiple of 16 bytes) TFLM accepts: about ``used_bytes``
    (head + tail), more when memory planning needs temporary space beyond a small head. ``head_bytes`` is the
    non-persistent part (the memory planner's activation tensors and kernel scratch), ``tail_bytes`` the
    persistent part; ``sections`` breaks the tail down by TFLM's recording categories (the allocator's own
    objects are the rest). Sizes are from a 64-bit host build: pointer-holding structs are smaller on Cortex-M.
    """

    arena_bytes: int
    used_bytes: int
    head_bytes: int
    tail_bytes: int
    sections: tuple[tuple[str, int], ...] = ()


def read_tflite_file(path: Path) -> bytes:
    """The file's bytes, checked to be a TFLite flatbuffer (TFLM would read garbage without a check)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise KwsautoError(f"Cannot read TFLite model {path}: {err.strerror}; check the path.") from None
    if len(data) < 16 or data[4:8] != b"TFL3":
        raise KwsautoError(f"{path} is not a TFLite model (no TFL3 file identifier); pass a .tflite file.")
    try:
        model = _model_object(data)
    except (struct.error, IndexError, ValueError, TypeError, AttributeError, UnicodeDecodeError):
        raise KwsautoError(
            f"{path} is a corrupt TFLite model (its flatbuffer does not parse); export it again."
        ) from None
    problem = _structure_problem(model)
    if problem:
        raise KwsautoError(f"{path} is a corrupt TFLite model ({problem}); export it again.")
    return data


# bytes per element of the TFLite tensor types kwsauto models hold (FLOAT32, INT32, UINT8, INT64, INT16, INT8)
_ELEMENT_BYTES = {0: 4, 2: 4, 3: 1, 4: 8, 7: 2, 9: 1}
_MAX_ELEMENTS = 2**28  # 256 M values: far beyond any microcontroller, still safe for a host to allocate


def _structure_problem(model: Any) -> str | None:
    """What in the model points outside it (an op code, tensor or buffer index) or is cut short, or None.

    The interpreters index these tables without checks, so a hand-edited file must be refused first.
    """
    if not model.subgraphs:
        return "no subgraph"
    n_codes, n_buffers = len(model.operatorCodes or []), len(model.buffers or [])
    for graph in model.subgraphs:
        tensors = graph.tensors or []
        for i, t in enumerate(tensors):
            if not 0 <= t.buffer < max(n_buffers, 1):
                return f"tensor {i} refers to buffer {t.buffer} of {n_buffers}"
            shape = [int(d) for d in (t.shape if t.shape is not None else [])]
            if any(d < 0 for d in shape):
                return f"tensor {i} has a negative dimension {shape}"
            if math.prod(shape) > _MAX_ELEMENTS:  # Python ints: a hand-edited shape cannot overflow here
                return f"tensor {i} has shape {shape}, more than {_MAX_ELEMENTS:,} elements"
            data = model.buffers[t.buffer].data if n_buffers else None
            if data is not None and t.type in _ELEMENT_BYTES:
                needed = _ELEMENT_BYTES[t.type] * math.prod(shape)
                if len(data) < needed:
                    return f"tensor {i}'s weights hold {len(data)} bytes, {needed} expected: the file is cut short"
        ends = [*(graph.inputs if graph.inputs is not None else []), *(graph.outputs if graph.outputs is not None else [])]
        for n, op in enumerate(graph.operators or []):
            if not 0 <= op.opcodeIndex < n_codes:
                return f"operator {n} has op code index {op.opcodeIndex} of {n_codes}"
            ends += [i for i in [*(op.inputs if op.inputs is not None else []),
                                 *(op.outputs if op.outputs is not None else [])] if i != -1]
        bad = next((int(i) for i in ends if not 0 <= int(i) < len(tensors)), None)
        if bad is not None:
            return f"tensor index {bad} of {len(tensors)}"
    return None


def _model_object(data: bytes) -> Any:
    from ai_edge_litert import schema_py_generated as schema

    return schema.ModelT.InitFromPackedBuf(data, 0)


def tflite_op_names(path: Path) -> list[str]:
    """The builtin op of every operator in the model's main subgraph, in execution order."""
    from ai_edge_litert import schema_py_generated as schema

    model = _model_object(read_tflite_file(path))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [
        names.get(max(c.builtinCode, c.deprecatedBuiltinCode), str(c.builtinCode))
        for c in model.operatorCodes
    ]
    return [codes[op.opcodeIndex] for op in model.subgraphs[0].operators or []]


def tflite_io_quant(path: Path) -> tuple[tuple[float, int], tuple[float, int]]:
    """``((input_scale, input_zero_point), (output_scale, output_zero_point))`` of the model's int8 tensors."""
    model = _model_object(read_tflite_file(path))
    graph = model.subgraphs[0]
    pairs = []
    for index in (graph.inputs[0], graph.outputs[0]):
        quant = graph.tensors[index].quantization
        if quant is None or quant.scale is None or len(quant.scale) != 1:
            raise KwsautoError(
                f"{path} has no per-tensor int8 quantization on its input/output; export an int8 model."
            )
        pairs.append((float(quant.scale[0]), int(quant.zeroPoint[0])))
    return pairs[0], pairs[1]


def quantize_features(path: Path, features: Any) -> np.ndarray:
    """Float features ``[n, 1, frames, coeffs]`` → the model's int8 input ``[n, frames, coeffs, 1]``."""
    (scale, zero_point), _ = tflite_io_quant(path)
    x = np.asarray(features, dtype=np.float32).transpose(0, 2, 3, 1)  # NCHW → NHWC
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)


def dequantize_outputs(path: Path, outputs: np.ndarray) -> np.ndarray:
    """int8 model outputs → float (class probabilities for a kwsauto model)."""
    _, (scale, zero_point) = tflite_io_quant(path)
    return (outputs.astype(np.float32) - zero_point) * scale


@contextlib.contextmanager
def _c_stderr() -> Iterator[list[str]]:
    """Collect what C code writes to file descriptor 2 inside the block (appended to the yielded list)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        lines: list[str] = []
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines.extend(tmp.read().decode("utf-8", errors="replace").splitlines())


def _tflm_interpreter(path: Path, data: bytes, arena_size: int | None = None) -> Any:
    """A TFLM interpreter for ``data``; grows the arena until it fits, unless ``arena_size`` is given."""
    from tflite_micro.python.tflite_micro import runtime

    size = arena_size or max(_MIN_ARENA_BYTES, 4 * len(data))
    while True:
        with _c_stderr() as log:
            try:
                return runtime.Interpreter.from_bytes(data, arena_size=size)
            except RuntimeError:
                pass
        text = " ".join(line.strip() for line in log if line.strip())
        missing = _MISSING_OP.search(text)
        if missing:
            raise KwsautoError(
                f"{path} uses op {missing.group(1)}, which TFLite Micro does not implement; "
                "export with kwsauto's int8 TFLite writer, which uses only TFLM builtins."
            )
        if "Failed to allocate" not in text or arena_size is not None or size >= _MAX_ARENA_BYTES:
            raise KwsautoError(f"TFLite Micro cannot load {path}: {text or 'no reason given'}.")
        size *= 4


def tflm_arena_usage(path: Path) -> ArenaUsage:
    """The arena TFLM allocates for the model at ``path`` (head, tail, sum) and the smallest one it accepts."""
    path = Path(path)
    data = read_tflite_file(path)
    interpreter = _tflm_interpreter(path, data)
    details = interpreter.get_input_details(0)
    interpreter.set_input(np.zeros(details["shape"], dtype=details["dtype"]), 0)
    interpreter.invoke()
    with _c_stderr() as log:
        interpreter.print_allocations()
    totals: dict[str, int] = {}
    sections: list[tuple[str, int]] = []
    for line in log:
        if m := _ALLOCATION.search(line):
            totals[m.group(1)] = int(m.group(2))
        elif m := _SECTION.search(line):
            sections.append((m.group(1), int(m.group(2))))
    if set(totals) != {"total", "head", "tail"}:
        raise KwsautoError(
            f"TFLite Micro printed no arena allocations for {path}; update the tflite-micro package."
        )
    used = totals["total"]
    usage = ArenaUsage(_smallest_arena(data, used), used, totals["head"], totals["tail"], tuple(sections))
    _LOGGER.debug("TFLM arena of %s: %s", path, usage)
    return usage


def _fits(data: bytes, arena_size: int) -> bool:
    from tflite_micro.python.tflite_micro import runtime

    with _c_stderr():
        try:
            runtime.Interpreter.from_bytes(data, arena_size=arena_size)
        except RuntimeError:
            return False
    return True


def _smallest_arena(data: bytes, used: int) -> int:
    """The smallest arena, in 16-byte steps (a firmware's ``alignas(16)`` array), that TFLM allocates in.

    ``used`` is close to it: below by the temporary space that memory planning needs (when that exceeds the
    head), above by up to a few bytes of alignment slack.
    """
    step = _ARENA_STEP
    high = -(-used // step)  # in units of ``step``; grown until it fits
    increment = 64
    while not _fits(data, high * step):
        high += increment
        increment *= 2
    low = max(high - increment, 0)  # shrunk until it fails (0 bytes always does)
    while low > 0 and _fits(data, low * step):
        low //= 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if _fits(data, mid * step) else (mid, high)
    return high * step


def tflm_arena_bytes(path: Path) -> int:
    """The smallest ``tensor_arena`` in bytes that TFLM accepts for the model at ``path``."""
    return tflm_arena_usage(path).arena_bytes


def run_tflm(path: Path, int8_inputs: np.ndarray) -> np.ndarray:
    """Run each of ``int8_inputs`` ``[n, *input_shape[1:]]`` through TFLite Micro; int8 outputs ``[n, classes]``."""
    path = Path(path)
    interpreter = _tflm_interpreter(path, read_tflite_file(path))
    shape = tuple(interpreter.get_input_details(0)["shape"])
    outputs = []
    for x in np.asarray(int8_inputs, dtype=np.int8):
        interpreter.set_input(x.reshape(shape), 0)
        interpreter.invoke()
        outputs.append(np.array(interpreter.get_output(0)).reshape(-1))
    return np.stack(outputs)


def run_litert(path: Path, int8_inputs: np.ndarray, *, reference_kernels: bool = True) -> np.ndarray:
    """Run each of ``int8_inputs`` through the LiteRT interpreter; int8 outputs ``[n, classes]``.

    LiteRT's reference kernels round as TFLM's (and CMSIS-NN's) do, except FULLY_CONNECTED's requantization
    (one rounding in LiteRT, two in TFLM; why kwsauto writes its classifier head as CONV_2D); its optimized
    kernels round some requantizations differently, one LSB per op, which adds up over a deep network.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    path = Path(path)
    data = read_tflite_file(path)
    try:
        interpreter = Interpreter(
            model_content=data,
            num_threads=1,
            experimental_op_resolver_type=(
                OpResolverType.BUILTIN_REF
                if reference_kernels
                else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            ),
        )
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        reason = " ".join(str(err).split())
        raise KwsautoError(f"LiteRT cannot load {path}: {reason}.") from None
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    int8_inputs = np.asarray(int8_inputs, dtype=np.int8)
    if int8_inputs[0].size != int(np.prod(inp["shape"])):
        raise KwsautoError(
            f"{path} takes input {list(inp['shape'])}, but its feature parameters give {list(int8_inputs.shape[1:])}: "
            "its metadata does not match the model. Export it again."
        )
    outputs = []
    for x in int8_inputs:
        interpreter.set_tensor(inp["index"], x.reshape(inp["shape"]))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(out["index"]).reshape(-1).copy())
    return np.stack(outputs)
