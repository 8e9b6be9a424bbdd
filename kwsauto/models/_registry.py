"""The model registry: one table of every backbone, by a name that carries variant and width, with the
pretrained backbone kwsauto ships for it.

``mobilenetv1_010`` is MobileNetV1 at width 0.1, ``mobilenetv2_035`` MobileNetV2 at 0.35, ``dscnn`` the MLPerf
Tiny DS-CNN (width 1.0). :func:`create_model` only builds (random weights); loading weights is a separate step
(:func:`kwsauto.models.load_pretrained` for a backbone checkpoint, ``load_state_dict`` for trained weights).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from kwsauto.errors import ConfigError, did_you_mean
from kwsauto.models._head import ClassifierHead, KwsNet
from kwsauto.models._names import WIDTHS, registry_name
from kwsauto.models._pretrained import shipped_backbones
from kwsauto.models._same_padding import apply_tf_same_padding
from kwsauto.models._spec import ModelSpec
from kwsauto.models.dscnn import DSCNNBackbone
from kwsauto.models.mobilenetv1 import MobileNetV1Backbone
from kwsauto.models.mobilenetv2 import MobileNetV2Backbone

__all__ = ["ARCHITECTURES", "WIDTHS", "BackboneEntry", "create_model", "list_models", "registry_name", "resolve"]

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "mobilenetv1": MobileNetV1Backbone,
    "mobilenetv2": MobileNetV2Backbone,
    "dscnn": DSCNNBackbone,
}


@dataclass(frozen=True)
class BackboneEntry:
    """A registered backbone: its architecture and width, and the pretrained backbone file kwsauto ships for it
    (``None`` where none ships; ``ModelSpec(pretrained=True)`` loads it)."""

    name: str
    arch: str
    width: float
    pretrained: Path | None = None


def _entries() -> dict[str, BackboneEntry]:
    shipped = shipped_backbones()
    shapes = [(a, w) for a in ("mobilenetv1", "mobilenetv2") for w in WIDTHS] + [("dscnn", 1.0)]
    return {
        name: BackboneEntry(name, arch, width, shipped.get(name))
        for arch, width in shapes
        for name in (registry_name(arch, width),)
    }


def list_models(pattern: str = "") -> list[str]:
    """Registered backbone names containing ``pattern``, sorted."""
    return sorted(n for n in _entries() if pattern in n)


def resolve(name: str) -> BackboneEntry:
    """The entry for ``name``; an unknown name raises with the closest match."""
    entries = _entries()
    if name not in entries:
        raise ConfigError(
            f"Unknown model {name!r}{did_you_mean(name, entries)}; `kwsauto models` lists them all."
        )
    return entries[name]


def create_model(spec: ModelSpec, num_classes: int, input_shape: tuple[int, int, int]) -> KwsNet:
    """Build ``spec`` for ``input_shape`` ``[1, frames, coeffs]``, padded as TFLite pads (see ``_same_padding``),
    with random weights: :func:`kwsauto.models.load_pretrained` starts its backbone from a checkpoint."""
    if spec.arch not in ARCHITECTURES:
        raise ConfigError(
            f"Unknown architecture {spec.arch!r}{did_you_mean(spec.arch, ARCHITECTURES)}; "
            f"valid: {sorted(ARCHITECTURES)}."
        )
    if num_classes < 2:
        raise ConfigError(f"A classifier needs at least 2 classes, but got num_classes={num_classes}.")
    depth = {"depth": spec.depth} if spec.depth else {}
    backbone = ARCHITECTURES[spec.arch](width=spec.width, in_channels=input_shape[0], **depth)
    head = ClassifierHead(backbone.out_channels, num_classes, units=spec.head_units, dropout=spec.dropout)
    return apply_tf_same_padding(KwsNet(backbone, head), input_shape)
