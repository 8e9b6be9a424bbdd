"""What a benchmark measured: accuracy per variant, footprint per device, host latency, as dataclasses and JSON.

:func:`kwsauto.evaluate.benchmark` fills these; the rich tables and ``--json`` read them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kwsauto._io import atomic_write_json
from kwsauto.device import Budget, Footprint, Violation
from kwsauto.errors import OutputError
from kwsauto.evaluate._latency import LatencyStat
from kwsauto.training import ClassMetrics

__all__ = [
    "VARIANTS",
    "BenchmarkReport",
    "DeviceFit",
    "HostInfo",
    "ModelBenchmark",
    "VariantAccuracy",
    "write_benchmark_json",
]

# variant → how it runs; the order is the order of the accuracy table, the last one present is "deployed"
VARIANTS: dict[str, str] = {
    "float": "float · PyTorch",
    "float_onnx": "float · ONNX Runtime",
    "int8_onnx": "int8 · ONNX Runtime",
    "int8_tflite": "int8 · LiteRT",  # its reference kernels, which round as TFLite Micro does
}


@dataclass(frozen=True)
class VariantAccuracy:
    """One variant's metrics on the test split."""

    variant: str
    metrics: ClassMetrics

    @property
    def runtime(self) -> str:
        return VARIANTS[self.variant]

    @property
    def worst_class(self) -> tuple[str, float]:
        """The class with the lowest F1 among those in the test split, and that F1."""
        present = [
            (f1, label)
            for label, f1, n in zip(self.metrics.labels, self.metrics.f1, self.metrics.support)
            if n
        ]
        f1, label = min(present, default=(0.0, ""))
        return label, f1

    def to_dict(self) -> dict[str, Any]:
        label, f1 = self.worst_class
        return {
            "variant": self.variant,
            "runtime": self.runtime,
            **self.metrics.to_dict(),
            "worst_class": label,
            "worst_f1": f1,
        }


@dataclass(frozen=True)
class DeviceFit:
    """A footprint on one device against the limits in force there."""

    footprint: Footprint
    limits: dict[str, float]
    violations: tuple[Violation, ...]

    @property
    def fits(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.footprint.to_dict(),
            "limits": self.limits,
            "fits": self.fits,
            "violations": [v.describe() for v in self.violations],
        }


@dataclass(frozen=True)
class ModelBenchmark:
    """Everything measured for one model; ``notes`` name what could not be measured, and why."""

    name: str
    trial: int | None
    labels: tuple[str, ...]
    test_clips: int
    accuracy: tuple[VariantAccuracy, ...]
    devices: tuple[DeviceFit, ...]
    latency: tuple[LatencyStat, ...]
    notes: tuple[str, ...]

    @property
    def deployed(self) -> VariantAccuracy | None:
        """The variant a device runs: int8 TFLite, else int8 ONNX, else float."""
        return self.accuracy[-1] if self.accuracy else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trial": self.trial,
            "labels": list(self.labels),
            "test_clips": self.test_clips,
            "accuracy": [a.to_dict() for a in self.accuracy],
            "devices": [d.to_dict() for d in self.devices],
            "latency": [s.to_dict() for s in self.latency],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class HostInfo:
    """The machine a benchmark's latency was measured on, and the runtimes' versions."""

    platform: str
    machine: str
    processor: str
    python: str
    torch_threads: int
    torch: str
    onnxruntime: str
    ai_edge_litert: str | None = None  # None: not installed

    def to_dict(self) -> dict[str, str | int]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class BenchmarkReport:
    """The benchmark of one target (or the top trials of a run), as written to ``--json``."""

    target: str
    budget: Budget
    models: tuple[ModelBenchmark, ...]
    host: HostInfo

    def to_dict(self) -> dict[str, Any]:
        return {
            "kwsauto_benchmark": 1,
            "target": self.target,
            "budget": self.budget.to_dict(),
            "host": self.host.to_dict(),
            "models": [m.to_dict() for m in self.models],
        }


def write_benchmark_json(report: BenchmarkReport, path: str | Path) -> Path:
    """Write ``report.to_dict()`` to ``path`` atomically (a CI job never reads half a file)."""
    path = Path(path)
    try:
        atomic_write_json(path, report.to_dict())
    except OSError as exc:
        raise OutputError(
            f"Cannot write benchmark JSON {path}: {exc.strerror or exc}; choose another file."
        ) from None
    return path
