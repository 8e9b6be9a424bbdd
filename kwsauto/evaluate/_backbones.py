"""Every registered backbone's footprint on a device, before any training: what ``kwsauto models`` lists."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kwsauto.device import DEFAULT_DEVICE, Footprint, get_device
from kwsauto.errors import ConfigError
from kwsauto.models import ModelSpec, list_models, resolve, shipped_recipe
from kwsauto.search import footprint_of
from kwsauto.training import TrialConfig

__all__ = ["BackboneFootprint", "backbone_footprints"]


@dataclass(frozen=True)
class BackboneFootprint:
    """A backbone with a head for ``classes`` classes on the features the shipped backbones were trained on.

    ``fits``: its RAM within the budget (default: the device's RAM) and its flash within the device's.
    ``pretrained``: the shipped checkpoint, if any; ``pretrained_val_accuracy`` its accuracy on held-out voices
    of the pretraining corpus.
    """

    name: str
    classes: int
    footprint: Footprint
    fits: bool
    pretrained: Path | None = None
    pretrained_val_accuracy: float | None = None


def backbone_footprints(
    device: str = DEFAULT_DEVICE, classes: int = 12, ram_budget_bytes: int | None = None
) -> list[BackboneFootprint]:
    """Every registered backbone's footprint on ``device``, by name."""
    from kwsauto.pretrain import PRETRAIN_FEATURES

    if classes < 2:
        raise ConfigError(f"classes must be at least 2 (a classifier's outputs), but got {classes}.", field="classes")
    profile = get_device(device)
    budget = ram_budget_bytes or profile.ram_bytes
    labels = tuple(f"class{i}" for i in range(classes))
    rows = []
    for name in list_models():
        entry = resolve(name)
        f = footprint_of(TrialConfig(PRETRAIN_FEATURES, ModelSpec(entry.arch, entry.width)), labels, profile)
        recipe = (shipped_recipe(name) or {}) if entry.pretrained is not None else {}
        rows.append(BackboneFootprint(
            name, classes, f, f.ram_bytes <= budget and f.flash_bytes <= profile.flash_bytes, entry.pretrained,
            recipe.get("val_accuracy"),
        ))
    return rows
