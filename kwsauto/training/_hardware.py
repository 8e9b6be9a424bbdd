"""Where training runs: the accelerator and precision a user asks for, resolved against what torch sees.

``auto`` takes a CUDA GPU when torch sees one, else Apple's MPS, else the CPU; ``gpu`` insists on one (CUDA, else
MPS) and is a one-line error without. Several worker processes on a machine with several GPUs each get their own
(``gpu_for_worker``: round-robin). What a trial ran on is recorded, never part of its config: the results do not
depend on it beyond float rounding.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

import torch

from kwsauto.errors import ConfigError, did_you_mean

__all__ = [
    "ACCELERATORS",
    "PRECISIONS",
    "Available",
    "Hardware",
    "HardwareRequest",
    "available_hardware",
    "gpu_for_worker",
    "resolve_hardware",
]

ACCELERATORS = ("auto", "cpu", "gpu")
PRECISIONS = ("32", "16-mixed", "bf16-mixed")


@dataclass(frozen=True)
class HardwareRequest:
    """What the user asked for: ``--accelerator auto|cpu|gpu`` and ``--precision 32|16-mixed|bf16-mixed``."""

    accelerator: str = "auto"
    precision: str = "32"

    def __post_init__(self) -> None:
        for name, value, valid in (("accelerator", self.accelerator, ACCELERATORS),
                                   ("precision", self.precision, PRECISIONS)):
            if value not in valid:
                raise ConfigError(
                    f"{name} must be one of {', '.join(valid)}, but got {value!r}{did_you_mean(value, valid)}.", field=name
                )


@dataclass(frozen=True)
class Available:
    """What torch sees on this machine (a test passes its own)."""

    cuda_devices: tuple[str, ...] = ()  # device names, by index
    mps: bool = False
    cuda_bf16: bool = False
    torch_build: str = ""


def available_hardware() -> Available:
    cuda = torch.cuda.is_available()
    names = tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) if cuda else ()
    mps = getattr(torch.backends, "mps", None)
    return Available(
        cuda_devices=names,
        mps=bool(mps is not None and mps.is_available()),
        cuda_bf16=bool(cuda and torch.cuda.is_bf16_supported()),
        torch_build=f"torch {torch.__version__}, CUDA {torch.version.cuda or 'none'}",
    )


@dataclass(frozen=True)
class Hardware:
    """The device one process trains and computes features on. ``accelerator``: ``cuda``, ``mps`` or ``cpu``."""

    accelerator: str = "cpu"
    index: int | None = None  # the CUDA device's index; None for the CPU and MPS
    precision: str = "32"
    name: str = ""

    @property
    def device(self) -> torch.device:
        return torch.device(self.accelerator if self.index is None else f"{self.accelerator}:{self.index}")

    @property
    def label(self) -> str:
        """``cuda:1``, ``mps`` or ``cpu``: where a trial ran, as the leaderboard shows it."""
        return str(self.device)

    def trainer_kwargs(self) -> dict[str, Any]:
        """``accelerator``, ``devices`` and ``precision`` for ``pl.Trainer``."""
        devices: list[int] | int = [self.index] if self.index is not None else 1
        return {"accelerator": self.accelerator, "devices": devices, "precision": self.precision}

    def to_dict(self) -> dict[str, Any]:
        return {"accelerator": self.accelerator, "device": self.label, "name": self.name, "precision": self.precision}


def resolve_hardware(
    request: HardwareRequest | None = None, *, worker: int = 0, available: Available | None = None
) -> Hardware:
    """The device ``request`` means here for trial process ``worker`` (0: the main one; see :func:`gpu_for_worker`)."""
    request = request or HardwareRequest()
    seen = available or available_hardware()
    if request.accelerator == "cpu" or (request.accelerator == "auto" and not seen.cuda_devices and not seen.mps):
        hardware = Hardware("cpu", None, request.precision, f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)")
    elif seen.cuda_devices:
        index = gpu_for_worker(worker, len(seen.cuda_devices))
        hardware = Hardware("cuda", index, request.precision, seen.cuda_devices[index])
    elif seen.mps:
        hardware = Hardware("mps", None, request.precision, "Apple MPS")
    else:
        raise ConfigError(
            f"accelerator is gpu, but torch sees no GPU ({seen.torch_build or 'no CUDA build'}). Install a CUDA build "
            "of torch and the NVIDIA driver, or use the accelerator auto (the CPU when there is no GPU) or cpu.",
            field="accelerator",
        )
    if request.precision == "16-mixed" and hardware.accelerator == "cpu":
        raise ConfigError(
            "precision 16-mixed needs a GPU (the CPU has no float16 autocast); on the CPU use bf16-mixed or 32.",
            field="precision",
        )
    if request.precision == "bf16-mixed" and hardware.accelerator == "cuda" and not seen.cuda_bf16:
        raise ConfigError(
            f"precision is bf16-mixed, but {hardware.name} has no bfloat16 support; use 16-mixed or 32 on this GPU.",
            field="precision",
        )
    return hardware


def gpu_for_worker(worker: int, n_gpus: int) -> int:
    """The GPU of worker ``worker`` (0 = the main process) among ``n_gpus``: round-robin when workers outnumber GPUs."""
    if worker < 0:
        raise ValueError(f"worker must be >= 0, but got {worker=}.")
    return worker % n_gpus if n_gpus > 0 else 0
