"""Device profiles: clock, memory and a cycle model of TFLite Micro with CMSIS-NN kernels, in one registry.

The cycle constants are cycles per multiply-accumulate for each op kind with the optimized kernels of that
core (CMSIS-NN on Arm, ESP-NN on the ESP32-S3), plus a fixed cost per op invocation. They are first-order
values from the cores' SIMD widths (dual 16-bit MAC on M4/M33/M7, none on M0+); calibration against
published MLPerf Tiny measurements refines them (see ``benchmarks/device_fidelity.py`` when present).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from kwsauto.errors import ConfigError, did_you_mean
from kwsauto.units import parse_bytes, parse_hz

__all__ = ["DeviceProfile", "DEVICES", "DEFAULT_DEVICE", "get_device", "list_devices"]

DEFAULT_DEVICE = "cortex-m4f-80mhz"


@dataclass(frozen=True)
class DeviceProfile:
    """A target: ``ram_bytes`` and ``flash_bytes`` are what the application may give the model and DSP."""

    name: str
    clock_hz: float
    ram_bytes: int
    flash_bytes: int
    cycles_per_mac: dict[str, float] = field(default_factory=dict, hash=False)
    cycles_per_op: float = 2000.0  # interpreter dispatch and per-op setup
    dsp_cycles_per_sample: float = 60.0  # MFE/MFCC front end per audio sample, FFT included
    description: str = ""

    def __post_init__(self) -> None:
        if self.clock_hz <= 0 or self.ram_bytes <= 0 or self.flash_bytes <= 0:
            raise ConfigError(f"Device {self.name!r} needs positive clock, ram and flash.")

    def cpm(self, op_kind: str) -> float:
        return self.cycles_per_mac.get(op_kind, self.cycles_per_mac.get("default", 1.0))


def _cpm(conv: float, dw: float, fc: float, other: float) -> dict[str, float]:
    return {"CONV_2D": conv, "DEPTHWISE_CONV_2D": dw, "FULLY_CONNECTED": fc, "default": other}


_M4 = _cpm(1.0, 2.2, 1.2, 2.0)
DEVICES: dict[str, DeviceProfile] = {
    d.name: d
    for d in (
        DeviceProfile("cortex-m0plus-64mhz", 64e6, 32 * 1024, 256 * 1024, _cpm(6.5, 8.0, 6.0, 8.0), 3000, 220,
                      "Arm Cortex-M0+ (RP2040 class), no DSP extension"),
        DeviceProfile("cortex-m4f-80mhz", 80e6, 128 * 1024, 1024 * 1024, _M4, 2000, 60,
                      "Arm Cortex-M4F at 80 MHz (Edge Impulse's default estimate target)"),
        DeviceProfile("cortex-m4f-120mhz", 120e6, 640 * 1024, 2048 * 1024, _M4, 2000, 60,
                      "Arm Cortex-M4F at 120 MHz (STM32L4R5, MLPerf Tiny reference board)"),
        DeviceProfile("cortex-m33-128mhz", 128e6, 256 * 1024, 1024 * 1024, _cpm(1.0, 2.0, 1.1, 1.8), 1800, 55,
                      "Arm Cortex-M33 with DSP extension at 128 MHz (nRF5340 class)"),
        DeviceProfile("cortex-m7-216mhz", 216e6, 320 * 1024, 1024 * 1024, _cpm(0.6, 1.4, 0.8, 1.2), 1500, 35,
                      "Arm Cortex-M7 at 216 MHz (STM32F746)"),
        DeviceProfile("cortex-m7-480mhz", 480e6, 1024 * 1024, 2048 * 1024, _cpm(0.6, 1.4, 0.8, 1.2), 1500, 35,
                      "Arm Cortex-M7 at 480 MHz (STM32H7)"),
        DeviceProfile("esp32-s3-240mhz", 240e6, 512 * 1024, 8 * 1024 * 1024, _cpm(0.45, 1.2, 0.6, 1.5), 2500, 45,
                      "Espressif ESP32-S3 at 240 MHz with ESP-NN"),
    )
}


def list_devices() -> list[DeviceProfile]:
    return list(DEVICES.values())


def get_device(spec: str | DeviceProfile) -> DeviceProfile:
    """A registered device by name, or ``custom:clock=100MHz,ram=128KB,flash=512KB[,base=NAME]``."""
    if isinstance(spec, DeviceProfile):
        return spec
    if spec.startswith("custom:"):
        return _custom(spec)
    if spec not in DEVICES:
        raise ConfigError(
            f"Unknown device {spec!r}{did_you_mean(spec, DEVICES)}; `kwsauto devices` lists them, or give "
            "custom:clock=100MHz,ram=128KB,flash=512KB."
        )
    return DEVICES[spec]


def _custom(spec: str) -> DeviceProfile:
    fields = {}
    for part in filter(None, spec[len("custom:") :].split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"Custom device field {part!r} needs key=value, e.g. clock=100MHz.")
        fields[key.strip()] = value.strip()
    valid = {"clock", "ram", "flash", "base", "name"}
    for key in fields:
        if key not in valid:
            raise ConfigError(f"Unknown custom device field {key!r}{did_you_mean(key, valid)}; valid: {sorted(valid)}.")
    missing = [k for k in ("clock", "ram", "flash") if k not in fields]
    if missing:
        raise ConfigError(f"Custom device {spec!r} is missing {', '.join(missing)}; give clock=, ram= and flash=.")
    base = get_device(fields.get("base", DEFAULT_DEVICE))
    return dataclasses.replace(
        base,
        name=fields.get("name", spec),
        clock_hz=parse_hz(fields["clock"]),
        ram_bytes=parse_bytes(fields["ram"]),
        flash_bytes=parse_bytes(fields["flash"]),
        description=f"custom device (cycle model of {base.name})",
    )
