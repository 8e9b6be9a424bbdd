"""Budgets: the limits a model must meet, and which of them a footprint breaks."""

from __future__ import annotations

import math
from dataclasses import dataclass

from kwsauto.device._footprint import Footprint
from kwsauto.device._profiles import DeviceProfile
from kwsauto.errors import ConfigError
from kwsauto.units import format_bytes

__all__ = ["Budget", "Violation", "check_budget"]


@dataclass(frozen=True)
class Budget:
    """Hard limits. ``ram_bytes`` covers the TFLM arena plus DSP RAM; None means "the device's capacity"."""

    ram_bytes: int | None = None
    flash_bytes: int | None = None
    latency_ms: float | None = None

    def __post_init__(self) -> None:
        for name in ("ram_bytes", "flash_bytes", "latency_ms"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive finite number, but got {value!r}.", field=name)

    def limits(self, device: DeviceProfile) -> dict[str, float]:
        """Each limit in force: the budget, or the device's capacity where that is smaller or no budget is set."""
        ram = min(x for x in (self.ram_bytes, device.ram_bytes) if x is not None)
        flash = min(x for x in (self.flash_bytes, device.flash_bytes) if x is not None)
        out: dict[str, float] = {"ram_bytes": ram, "flash_bytes": flash}
        if self.latency_ms is not None:
            out["latency_ms"] = self.latency_ms
        return out

    def to_dict(self) -> dict:
        return {"ram_bytes": self.ram_bytes, "flash_bytes": self.flash_bytes, "latency_ms": self.latency_ms}


@dataclass(frozen=True)
class Violation:
    """A limit a footprint breaks, by how much."""

    limit: str
    value: float
    allowed: float

    @property
    def excess(self) -> float:
        return self.value / self.allowed - 1.0

    def describe(self) -> str:
        if self.limit == "latency_ms":
            return f"latency {self.value:.1f} ms > {self.allowed:.1f} ms (+{self.excess:.0%})"
        what = self.limit.removesuffix("_bytes")
        return f"{what} {format_bytes(self.value)} > {format_bytes(self.allowed)} (+{self.excess:.0%})"


def check_budget(footprint: Footprint, budget: Budget, device: DeviceProfile) -> list[Violation]:
    """The limits ``footprint`` breaks on ``device``; empty when it fits."""
    return [
        Violation(name, getattr(footprint, name), allowed)
        for name, allowed in budget.limits(device).items()
        if getattr(footprint, name) > allowed
    ]
