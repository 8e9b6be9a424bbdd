"""Per-step learning-rate schedules: constant, cosine with linear warm-up, and the one-cycle policy.

One scheduler for all three, stepped every batch, that also drives parameter groups added during training (the
backbone joining after ``freeze_epochs``): a new group's base rate is its rate when it joined, divided by the
schedule's factor at that step.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

__all__ = ["StepSchedule", "schedule_factor"]

# PyTorch's OneCycleLR defaults: start at peak / 25, end at peak / (25 * 1e4)
_ONECYCLE_START = 1 / 25
_ONECYCLE_END = 1 / (25 * 1e4)


def _cosine(start: float, end: float, progress: float) -> float:
    return end + (start - end) * (1 + math.cos(math.pi * progress)) / 2


def schedule_factor(kind: str, step: int, total_steps: int, warmup_fraction: float) -> float:
    """The multiple of the peak learning rate at ``step`` (0-based) of ``total_steps``."""
    if kind == "constant":
        return 1.0
    warmup = max(1, round(total_steps * warmup_fraction))
    step = min(step, total_steps)
    if kind == "cosine":
        if step < warmup:
            return (step + 1) / warmup
        return _cosine(1.0, 0.0, (step - warmup) / max(1, total_steps - warmup))
    if kind == "onecycle":  # torch's OneCycleLR: the peak at step warmup_fraction * total - 1, the end at total - 1
        peak = max(1.0, warmup_fraction * total_steps - 1)
        if step <= peak:
            return _cosine(_ONECYCLE_START, 1.0, step / peak)
        return _cosine(1.0, _ONECYCLE_END, min(1.0, (step - peak) / max(1.0, total_steps - 1 - peak)))
    raise ValueError(f"Unknown learning-rate schedule {kind!r}.")


class StepSchedule(LRScheduler):
    """``schedule_factor`` times each group's peak rate, stepped once per optimizer step."""

    def __init__(self, optimizer: Optimizer, kind: str, total_steps: int, warmup_fraction: float) -> None:
        self.kind = kind
        self.total_steps = max(1, total_steps)
        self.warmup_fraction = warmup_fraction
        super().__init__(optimizer)

    def _factor(self, step: int) -> float:
        return schedule_factor(self.kind, step, self.total_steps, self.warmup_fraction)

    def get_lr(self) -> list[float]:
        step = max(0, self.last_epoch)
        for group in self.optimizer.param_groups[len(self.base_lrs):]:  # joined since the last step
            self.base_lrs.append(group["lr"] / max(self._factor(step - 1), 1e-12))
        return [base * self._factor(step) for base in self.base_lrs]
