"""Device truth: profiles, the TFLM memory plan, footprints and budgets."""

from kwsauto.device._budget import Budget, Violation, check_budget
from kwsauto.device._footprint import KERNEL_CODE_BYTES, Footprint, dsp_ram_bytes, estimate_footprint
from kwsauto.device._latency import CALIBRATION, dsp_ms, inference_ms
from kwsauto.device._planner import Buffer, plan_arena
from kwsauto.device._profiles import (
    DEFAULT_DEVICE,
    DEVICES,
    CycleModel,
    DeviceProfile,
    get_device,
    list_devices,
    load_device_file,
)

__all__ = [
    "CALIBRATION",
    "DEFAULT_DEVICE",
    "DEVICES",
    "KERNEL_CODE_BYTES",
    "Budget",
    "Buffer",
    "CycleModel",
    "DeviceProfile",
    "Footprint",
    "Violation",
    "check_budget",
    "dsp_ms",
    "dsp_ram_bytes",
    "estimate_footprint",
    "get_device",
    "inference_ms",
    "list_devices",
    "load_device_file",
    "plan_arena",
]
