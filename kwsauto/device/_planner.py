"""TFLite Micro's greedy-by-size memory planner, replayed in Python.

TFLM places every non-persistent buffer (activation tensors and per-op scratch) in one arena: buffers sorted by
size, largest first, each at the lowest offset where it overlaps no already-placed buffer that is alive at the
same time (``GreedyMemoryPlanner`` in tensorflow/lite/micro/memory_planner). Sizes are rounded up to TFLM's
16-byte buffer alignment.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Buffer", "plan_arena", "BUFFER_ALIGNMENT"]

BUFFER_ALIGNMENT = 16


@dataclass(frozen=True)
class Buffer:
    """A buffer alive from op ``first`` to op ``last`` inclusive."""

    size: int
    first: int
    last: int
    name: str = ""


def _aligned(n: int) -> int:
    return (n + BUFFER_ALIGNMENT - 1) // BUFFER_ALIGNMENT * BUFFER_ALIGNMENT


def plan_arena(buffers: list[Buffer]) -> tuple[int, list[int]]:
    """Return the arena head size and each buffer's offset, placed greedily by size as TFLM does."""
    order = sorted(range(len(buffers)), key=lambda i: -_aligned(buffers[i].size))  # stable for equal sizes
    offsets = [0] * len(buffers)
    placed: list[int] = []  # buffer indices sorted by offset
    for i in order:
        b = buffers[i]
        size = _aligned(b.size)
        candidate = 0
        for j in placed:
            other = buffers[j]
            if other.last < b.first or b.last < other.first:
                continue  # not alive at the same time
            if candidate + size <= offsets[j]:
                break
            candidate = max(candidate, offsets[j] + _aligned(other.size))
        offsets[i] = candidate
        placed.append(i)
        placed.sort(key=lambda j: offsets[j])
    head = max((offsets[i] + _aligned(b.size) for i, b in enumerate(buffers)), default=0)
    return head, offsets
