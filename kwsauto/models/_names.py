"""The registry's names, as a leaf every model module may import: architectures, widths, and the name of a
backbone at a width (``mobilenetv1_010``, ``mobilenetv2_035``, ``dscnn``)."""

from __future__ import annotations

__all__ = ["ARCHITECTURE_NAMES", "DEPTHS", "WIDTHS", "registry_name"]

ARCHITECTURE_NAMES = ("mobilenetv1", "mobilenetv2", "dscnn")
WIDTHS = (0.1, 0.2, 0.25, 0.35, 0.5, 0.75, 1.0)
# the architectures whose depth is a setting: their own depth first, then the largest allowed
DEPTHS = {"dscnn": (4, 8)}


def registry_name(arch: str, width: float) -> str:
    if arch == "dscnn" and width == 1.0:
        return "dscnn"
    return f"{arch}_{round(width * 100):03d}"
