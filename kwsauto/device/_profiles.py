"""Device profiles: clock, memory, pointer size and a calibrated cycle model, in one registry.

A profile names a core's :class:`CycleModel`: cycles per multiply-accumulate of each kernel that TFLite Micro runs
with CMSIS-NN (ESP-NN on the ESP32-S3), cycles per output element (requantize and store), per element of the
MAC-free ops, per op invocation, and per sample of the float MFE/MFCC front end. The constants are fitted to
published MLPerf Tiny and vendor measurements; each one cites its rows, which live with the latency model as
``kwsauto.device._latency.CALIBRATION`` and are checked by ``tests/device/test_profiles.py`` and printed by
``benchmarks/device_fidelity.py``. The ``host`` profile is measured, not modelled: its latency is LiteRT's on
this machine (``kwsauto.device._host``).

Custom devices come from ``custom:clock=100MHz,ram=128KB,flash=512KB[,base=NAME][,pointwise=2.5...]`` or from a
TOML file (``--device board.toml``) with ``name``, ``clock``, ``ram``, ``flash``, optional ``base`` (whose cycle
model is used), ``pointer_bytes``, ``description`` and an optional ``[cycles]`` table overriding constants.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kwsauto.errors import ConfigError, did_you_mean
from kwsauto.units import parse_bytes, parse_hz

__all__ = [
    "CORES",
    "CYCLE_FIELDS",
    "DEFAULT_DEVICE",
    "DEVICES",
    "CycleModel",
    "DeviceProfile",
    "get_device",
    "list_devices",
    "load_device_file",
]

DEFAULT_DEVICE = "cortex-m4f-80mhz"
KERNELS = ("cmsis-nn", "esp-nn", "reference")


@dataclass(frozen=True)
class CycleModel:
    """Cycles a core spends per unit of work in TFLite Micro with its optimized kernels (see ``_latency``).

    ``pointwise``/``im2col``/``depthwise``/``fully_connected`` are cycles per MAC of a 1x1 CONV_2D, a kxk CONV_2D
    (im2col), a DEPTHWISE_CONV_2D and a FULLY_CONNECTED; ``per_output`` per output element of those (requantize,
    clamp, store); ``per_element`` per weighted input element of the MAC-free ops; ``per_op`` per op invocation
    (interpreter dispatch, kernel setup); ``dsp_per_sample`` per sample entering the front end's FFT (window,
    FFT, power, mel, log), at FFT length 256. ``dsp_extension``: the core has Arm's DSP (SIMD) extension.
    """

    pointwise: float
    im2col: float
    depthwise: float
    fully_connected: float
    per_output: float
    per_element: float
    per_op: float
    dsp_per_sample: float
    dsp_extension: bool = True

    def __post_init__(self) -> None:
        for name in CYCLE_FIELDS:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(f"Cycle constant {name} must be a number >= 0, but got {name}={value!r}.")
        for name in ("pointwise", "im2col", "depthwise", "fully_connected"):
            if getattr(self, name) <= 0:
                raise ConfigError(
                    f"Cycle constant {name} must be positive, but got {name}={getattr(self, name)!r}."
                )


CYCLE_FIELDS = tuple(f.name for f in dataclasses.fields(CycleModel) if f.name != "dsp_extension")

# Row keys refer to kwsauto.device._latency.CALIBRATION. Shapes (im2col, depthwise, fully-connected cost per MAC
# relative to pointwise) are priors: 2x / 2x / 1.2x with the DSP extension (im2col copies and short inner loops;
# depthwise has 9 MACs per requantized output; FC streams each weight once from flash), ESP-NN's own kernel
# ticks on the ESP32-S3, near 1x on the scalar M0+. The pointwise scale of each core is then fitted to its rows
# (minimax relative error; per_output, per_element and per_op are first-order estimates that the fit absorbs).
# fmt: off
CORES: dict[str, CycleModel] = {
    # Cortex-M4 (DSP extension, SMLAD dual 16-bit MAC). Scale fitted to mlperf-v1.0-octoml-l4r5zi-{kws,vww}
    # (NUCLEO-L4R5ZI, 120 MHz, CMSIS-NN kernels): predicted 105 / 286 ms vs 99.8 / 301.2 ms published.
    # Bounds: faster than the 2020 reference stack (mlperf-v0.5-reference-*), slower than X-CUBE-AI, HALE, Plumerai.
    # DSP: first-order CMSIS-DSP estimate (arm_rfft_fast_f32 256 + power + 40 mel bands + log ~ 15k cycles/frame);
    # MLPerf Tiny latency excludes DSP, so this constant is not calibrated.
    "cortex-m4": CycleModel(3.59, 7.18, 7.18, 4.31, per_output=12, per_element=2, per_op=1000, dsp_per_sample=60),
    # Cortex-M33 (DSP extension, same MAC datapath as the M4, ~15 % better per clock on general code).
    # Scale fitted to mlperf-v0.7-renesas-ra6m4-{kws,vww} (TFLM + CMSIS-NN, 200 MHz) and
    # mlperf-v1.0-octoml-nrf5340-{kws,vww} (128 MHz, CMSIS-NN kernels): all four within 11 %.
    "cortex-m33": CycleModel(3.05, 6.10, 6.10, 3.66, per_output=11, per_element=2, per_op=1000, dsp_per_sample=55),
    # Cortex-M7 (dual-issue, caches, DSP extension). Scale fitted to plumerai-blog-2021-f746-mobilenetv2 (TFLM 2.5
    # + CMSIS-NN, STM32F746 at 216 MHz, MobileNetV2 0.30 80x80: 129 ms); 1.6x faster per clock than the M4.
    # Bounds: 1.5-1.9x slower than Plumerai (F746) and X-CUBE-AI (H7A3) on KWS/VWW; Plumerai's blog reports its
    # engine at 40 % lower latency than TFLM + CMSIS-NN (1.7x), so the M7 sits where that claim puts it.
    "cortex-m7": CycleModel(2.24, 4.48, 4.48, 2.69, per_output=8, per_element=1.5, per_op=800, dsp_per_sample=35),
    # Cortex-M0+ (no DSP extension, no FPU: CMSIS-NN's scalar C paths, soft-float DSP). No TFLM measurement is
    # published; the only MLPerf Tiny M0+ rows are Bosch HALE on the STM32G0B1 (64 MHz). HALE runs 1.59x (KWS) and
    # 1.67x (VWW) faster than CMSIS-NN kernels on the same L4R5ZI (mlperf-v1.1-bosch-l4r5zi-* vs
    # mlperf-v1.0-octoml-l4r5zi-*); the scale assumes the same gap on the M0+ (24.4 cycles/MAC, 6.8x the M4).
    # DSP: Edge Impulse's inference-performance-metrics page (continuous gestures, spectral DSP block) has the
    # M0+ at 48 MHz taking 370 ms where the M4F at 80 MHz takes 15 ms: 14.8x the M4F's cycles, so 60 x 14.8.
    "cortex-m0plus": CycleModel(
        24.4, 26.8, 29.3, 24.4, per_output=40, per_element=6, per_op=2000, dsp_per_sample=890, dsp_extension=False
    ),
    # ESP32-S3 (Xtensa LX7, 128-bit PIE SIMD) with ESP-NN. Shape from ESP-NN's README kernel ticks (240 MHz):
    # 1x1 conv 461398 ticks / 409600 MACs, 3x3x3 conv 643689 / 110592 (5.2x), 3x3 depthwise 191931 / 36864 (4.6x).
    # Scale fitted to esp-tflite-micro-s3-person-detection (54 ms with ESP-NN at 240 MHz); the fitted 1.07
    # cycles/MAC pointwise agrees with ESP-NN's own 1.13 (external memory). FC at 2x: ESP-NN's FC sample (265 x 3)
    # is too small to measure a per-MAC cost. DSP: single-precision FPU, a little better than the M4F.
    "esp32-s3": CycleModel(
        1.07, 5.56, 4.92, 2.14, per_output=6, per_element=2, per_op=1500, dsp_per_sample=50, dsp_extension=False
    ),
    # This machine: inference is measured with LiteRT (measured=True profiles); the constants only serve the DSP
    # estimate at the nominal host clock and a fallback order of magnitude (x86 SIMD int8).
    "host": CycleModel(
        0.05, 0.1, 0.1, 0.1, per_output=1, per_element=0.5, per_op=200, dsp_per_sample=10, dsp_extension=False
    ),
}
# fmt: on


@dataclass(frozen=True)
class DeviceProfile:
    """A target: ``ram_bytes`` and ``flash_bytes`` are what the application may give the model and DSP.

    ``pointer_bytes`` sizes TFLM's pointer-holding structs (4 on the MCUs, 8 on the 64-bit host); ``kernels`` is
    the kernel library TFLM runs with; ``measured`` profiles (the host) time the model instead of modelling it.
    """

    name: str
    clock_hz: float
    ram_bytes: int
    flash_bytes: int
    core: str
    cycles: CycleModel
    pointer_bytes: int = 4
    kernels: str = "cmsis-nn"
    measured: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        for label, value in (("clock", self.clock_hz), ("ram", self.ram_bytes), ("flash", self.flash_bytes)):
            if not value > 0:
                raise ConfigError(f"Device {self.name!r} needs a positive {label}, but got {value!r}.")
        if self.pointer_bytes not in (4, 8):
            raise ConfigError(
                f"pointer_bytes must be 4 or 8, but got {self.pointer_bytes!r} for {self.name!r}."
            )
        if self.kernels not in KERNELS:
            raise ConfigError(
                f"Unknown kernels {self.kernels!r}{did_you_mean(self.kernels, KERNELS)}; valid: {KERNELS}."
            )

    @property
    def dsp_extension(self) -> bool:
        return self.cycles.dsp_extension


def _mcu(
    name: str, mhz: float, ram_kib: int, flash_kib: int, core: str, description: str, **kw: Any
) -> DeviceProfile:
    return DeviceProfile(
        name, mhz * 1e6, ram_kib * 1024, flash_kib * 1024, core, CORES[core], description=description, **kw
    )


# fmt: off
DEVICES: dict[str, DeviceProfile] = {
    d.name: d
    for d in (
        _mcu("cortex-m0plus-64mhz", 64, 32, 256, "cortex-m0plus",
             "Arm Cortex-M0+ (STM32G0/RP2040 class), no DSP extension"),
        _mcu("cortex-m4f-80mhz", 80, 128, 1024, "cortex-m4",
             "Arm Cortex-M4F at 80 MHz (Edge Impulse's default estimate target)"),
        _mcu("cortex-m4f-120mhz", 120, 640, 2048, "cortex-m4",
             "Arm Cortex-M4F at 120 MHz (STM32L4R5, MLPerf Tiny reference board)"),
        _mcu("cortex-m33-128mhz", 128, 256, 1024, "cortex-m33",
             "Arm Cortex-M33 with DSP extension at 128 MHz (nRF5340 class)"),
        _mcu("cortex-m7-216mhz", 216, 320, 1024, "cortex-m7", "Arm Cortex-M7 at 216 MHz (STM32F746)"),
        _mcu("cortex-m7-480mhz", 480, 1024, 2048, "cortex-m7", "Arm Cortex-M7 at 480 MHz (STM32H7)"),
        _mcu("esp32-s3-240mhz", 240, 512, 8192, "esp32-s3", "Espressif ESP32-S3 at 240 MHz with ESP-NN",
             kernels="esp-nn"),
        DeviceProfile("host", 3e9, 1 << 30, 1 << 30, "host", CORES["host"], pointer_bytes=8, kernels="reference",
                      measured=True,
                      description="this machine: latency measured with LiteRT (1 thread); DSP at a nominal 3 GHz"),
    )
}
# fmt: on


def list_devices() -> list[DeviceProfile]:
    return list(DEVICES.values())


def get_device(spec: str | DeviceProfile) -> DeviceProfile:
    """A registered device by name, ``custom:clock=100MHz,ram=128KB,flash=512KB[,base=NAME]``, or a ``.toml`` file."""
    if isinstance(spec, DeviceProfile):
        return spec
    if spec.startswith("custom:"):
        return _custom_string(spec)
    if spec.endswith(".toml"):
        return load_device_file(Path(spec))
    if spec not in DEVICES:
        raise ConfigError(
            f"Unknown device {spec!r}{did_you_mean(spec, DEVICES)}; `kwsauto devices` lists them, or give "
            "custom:clock=100MHz,ram=128KB,flash=512KB or a board.toml file."
        )
    return DEVICES[spec]


def load_device_file(path: Path) -> DeviceProfile:
    """The custom device described by the TOML file at ``path`` (see the module docstring for its fields)."""
    path = Path(path)
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ConfigError(
                "Reading a device .toml file needs Python 3.11+ or `pip install tomli`."
            ) from None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"Cannot read device file {path}: {err.strerror}; check the path.") from None
    except ValueError as err:  # TOMLDecodeError, UnicodeDecodeError
        raise ConfigError(f"Device file {path} is not valid TOML ({err}); fix the syntax.") from None
    cycles = data.pop("cycles", {})
    if not isinstance(cycles, dict):
        raise ConfigError(f"In {path}, cycles must be a [cycles] table of constants, but got {cycles!r}.")
    return _custom_device(
        data, cycles, origin=f"device file {path}", required=("name", "clock", "ram", "flash")
    )


def _custom_string(spec: str) -> DeviceProfile:
    fields: dict[str, Any] = {}
    for part in filter(None, spec[len("custom:") :].split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"Custom device field {part!r} needs key=value, e.g. clock=100MHz.")
        fields[key.strip()] = value.strip()
    cycles = {k: fields.pop(k) for k in list(fields) if k in CYCLE_FIELDS}
    fields.setdefault("name", spec)
    return _custom_device(
        fields, cycles, origin=f"custom device {spec!r}", required=("clock", "ram", "flash")
    )


_DEVICE_FIELDS = ("name", "clock", "ram", "flash", "base", "pointer_bytes", "description")
_ALL_FIELDS = _DEVICE_FIELDS + CYCLE_FIELDS


def _custom_device(
    fields: dict[str, Any], cycles: dict[str, Any], *, origin: str, required: tuple[str, ...]
) -> DeviceProfile:
    """A device from parsed fields: the base profile's cycle model with the given clock, memory and overrides."""
    for key in fields:
        if key not in _DEVICE_FIELDS:
            hint = (
                " (cycle constants go in a [cycles] table)"
                if key in CYCLE_FIELDS
                else did_you_mean(key, _ALL_FIELDS)
            )
            raise ConfigError(f"Unknown field {key!r} in {origin}{hint}; valid: {', '.join(_DEVICE_FIELDS)}.")
    for key in cycles:
        if key not in CYCLE_FIELDS:
            raise ConfigError(
                f"Unknown cycle constant {key!r} in {origin}{did_you_mean(key, CYCLE_FIELDS)}; valid: {', '.join(CYCLE_FIELDS)}."
            )
    missing = [k for k in required if k not in fields]
    if missing:
        raise ConfigError(f"The {origin} is missing {', '.join(missing)}; give {', '.join(required)}.")
    base_name = str(fields.get("base", DEFAULT_DEVICE))
    if base_name not in DEVICES:
        raise ConfigError(f"Unknown base device {base_name!r} in {origin}{did_you_mean(base_name, DEVICES)}.")
    base = DEVICES[base_name]
    if base.measured:
        raise ConfigError(
            f"Base {base_name!r} in {origin} is measured, not modelled; choose an MCU base such as {DEFAULT_DEVICE!r}."
        )
    overrides = {}
    for key, value in cycles.items():
        try:
            overrides[key] = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"Cycle constant {key} in {origin} must be a number, but got {value!r}."
            ) from None
    pointer_bytes = fields.get("pointer_bytes", base.pointer_bytes)
    if not isinstance(pointer_bytes, int) and not str(pointer_bytes).isdigit():
        raise ConfigError(f"pointer_bytes in {origin} must be 4 or 8, but got {pointer_bytes!r}.")
    return DeviceProfile(
        name=str(fields["name"]),
        clock_hz=parse_hz(fields["clock"]),
        ram_bytes=parse_bytes(fields["ram"]),
        flash_bytes=parse_bytes(fields["flash"]),
        core=base.core + (" (custom cycles)" if overrides else ""),
        cycles=dataclasses.replace(base.cycles, **overrides),
        pointer_bytes=int(pointer_bytes),
        kernels=base.kernels,
        description=str(fields.get("description", f"custom device (cycle model of {base.name})")),
    )
