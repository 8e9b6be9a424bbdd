"""Human quantities parsed in one place: ``64KB`` → 65536 bytes, ``15m`` → 900 s, ``80MHz`` → 80e6 Hz.

Binary multiples throughout for memory (``KB`` = ``KiB`` = 1024 bytes), as microcontroller datasheets and
Edge Impulse use them.
"""

from __future__ import annotations

import math
import re

from kwsauto.errors import ConfigError

__all__ = ["parse_bytes", "parse_duration_s", "parse_hz", "format_bytes"]

_BYTE_UNITS = {
    "": 1,
    "B": 1,
    "K": 1024,
    "KB": 1024,
    "KIB": 1024,
    "M": 1024**2,
    "MB": 1024**2,
    "MIB": 1024**2,
    "G": 1024**3,
    "GB": 1024**3,
    "GIB": 1024**3,
}
_DURATION_UNITS = {"": 1.0, "S": 1.0, "SEC": 1.0, "M": 60.0, "MIN": 60.0, "H": 3600.0, "D": 86400.0}
_HZ_UNITS = {"": 1.0, "HZ": 1.0, "KHZ": 1e3, "MHZ": 1e6, "GHZ": 1e9}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$")


def _parse(text: str | int | float, units: dict[str, float], what: str, examples: str, option: str | None) -> float:
    what = f"{option} {what}" if option else what
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _NUMBER.match(str(text))
        unit = match.group(2).upper() if match else None
        if match is None or unit not in units:
            raise ConfigError(f"Cannot read {what} {text!r}: use a number with a unit such as {examples}.")
        value = float(match.group(1)) * units[unit]
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{what[0].upper() + what[1:]} must be positive, but got {text!r}.")
    return value


def parse_bytes(text: str | int, option: str | None = None) -> int:
    """``64KB``, ``64K``, ``64KiB`` → 65536; ``1.5MB`` → 1572864; a bare number is bytes.

    ``option`` (``--budget``) names the setting in error messages."""
    n_bytes = int(round(_parse(text, _BYTE_UNITS, "size", "64KB, 256KiB, 1MB or 65536", option)))
    if n_bytes < 1:
        raise ConfigError(f"{option + ' size' if option else 'Size'} must be at least 1 byte, but got {text!r}.")
    return n_bytes


def parse_duration_s(text: str | int | float, option: str | None = None) -> float:
    """``90`` or ``90s`` → 90.0; ``15m`` → 900.0; ``1h`` → 3600.0."""
    return _parse(text, _DURATION_UNITS, "duration", "90s, 15m or 1h", option)


def parse_hz(text: str | int | float, option: str | None = None) -> float:
    """``80MHz`` → 8e7; a bare number is hertz."""
    return _parse(text, _HZ_UNITS, "clock", "80MHz or 1.2GHz", option)


def format_bytes(n_bytes: float) -> str:
    """65536 → ``64.0 KB``; small values stay in bytes."""
    if n_bytes < 1024:
        return f"{int(n_bytes)} B"
    if n_bytes < 1024**2:
        return f"{n_bytes / 1024:.1f} KB"
    return f"{n_bytes / 1024**2:.2f} MB"
