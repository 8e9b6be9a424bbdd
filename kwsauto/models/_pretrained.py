"""The pretrained backbones kwsauto ships, and how a model spec's ``pretrained`` setting finds its weights.

``kwsauto/models/pretrained/<name>.safetensors`` holds the backbone made by ``kwsauto pretrain`` for registry
name ``<name>``; ``<name>.recipe.json`` beside it says how (command, corpus, seed, epochs, accuracy).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from kwsauto.models._checkpoint import (
    BackboneCheckpoint,
    CheckpointError,
    load_backbone_checkpoint,
    load_canonical_state_dict,
)
from kwsauto.models._names import registry_name

if TYPE_CHECKING:
    from kwsauto.models._head import KwsNet
    from kwsauto.models._spec import ModelSpec

__all__ = [
    "PRETRAINED_DIR",
    "checkpoint_for",
    "has_pretrained",
    "init_backbone",
    "load_pretrained",
    "pretrained_features",
    "shipped_backbones",
    "shipped_recipe",
]

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


def shipped_backbones() -> dict[str, Path]:
    """Registry name → checkpoint file, for every backbone the package ships."""
    return {p.name.removesuffix(".safetensors"): p for p in sorted(PRETRAINED_DIR.glob("*.safetensors"))}


def has_pretrained(arch: str, width: float) -> bool:
    return registry_name(arch, width) in shipped_backbones()


def shipped_recipe(name: str) -> dict[str, Any] | None:
    path = PRETRAINED_DIR / f"{name}.recipe.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def checkpoint_for(arch: str, width: float, pretrained: bool | str) -> BackboneCheckpoint | None:
    """The checkpoint that ``pretrained`` names for a model of ``arch``/``width``: ``False`` none, ``True`` the
    shipped one, a path (or ``"imagenet"``) that file. A checkpoint of another architecture or width is an error."""
    if pretrained is False:
        return None
    name = registry_name(arch, width)
    if pretrained is True:
        shipped = shipped_backbones()
        if name not in shipped:
            raise CheckpointError(
                f"No pretrained backbone ships for {name}; pretrained ones: {sorted(shipped) or 'none'}. Set "
                f"pretrained: false, pick one of those, or make one with `kwsauto pretrain --model {name}`."
            )
        ckpt = load_backbone_checkpoint(shipped[name])
    else:
        ckpt = load_backbone_checkpoint(pretrained)  # a path, or IMAGENET
    if ckpt.arch is not None and (ckpt.arch, float(ckpt.width)) != (arch, float(width)):
        raise CheckpointError(
            f"{ckpt.path} is a {registry_name(ckpt.arch, ckpt.width)} backbone, but the model is {name}; use a "
            f"checkpoint of {name}, or set the model's arch/width to {ckpt.arch}/{ckpt.width}."
        )
    return ckpt


def pretrained_features(arch: str, width: float, pretrained: bool | str) -> dict[str, Any] | None:
    """The feature config (as a dict) the backbone that ``pretrained`` names was trained on; ``None`` when
    there is none or it is unknown (ImageNet, a bare state dict). ``True`` for a model that ships no
    backbone is ``None`` too: such a model trains from scratch."""
    if pretrained is False or (pretrained is True and not has_pretrained(arch, width)):
        return None
    if pretrained is True:
        return _shipped_features(shipped_backbones()[registry_name(arch, width)])
    return checkpoint_for(arch, width, pretrained).features


@functools.lru_cache(maxsize=64)
def _shipped_features(path: Path) -> dict[str, Any] | None:
    """The feature config in a shipped checkpoint's metadata, without reading its tensors."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        metadata = fh.metadata() or {}
    return json.loads(metadata["features"]) if "features" in metadata else None


def init_backbone(backbone: nn.Module, ckpt: BackboneCheckpoint, features: dict[str, Any] | None) -> None:
    """Load ``ckpt`` into ``backbone``; a checkpoint trained on other features than ``features`` is an error."""
    if features is not None and ckpt.features is not None and ckpt.features != features:
        diff = sorted(k for k in set(ckpt.features) | set(features) if ckpt.features.get(k) != features.get(k))
        shown = ", ".join(f"{k}={ckpt.features.get(k)!r} (model: {features.get(k)!r})" for k in diff[:3])
        raise CheckpointError(
            f"{ckpt.path} was pretrained on other features: {shown}; use the checkpoint's feature config "
            "(its .recipe.json lists it) or a checkpoint made for these features."
        )
    load_canonical_state_dict(backbone, ckpt.state_dict, ckpt.path)


def load_pretrained(net: KwsNet, spec: ModelSpec, features: dict[str, Any] | None = None) -> KwsNet:
    """Start ``net``'s backbone (a :func:`kwsauto.models.create_model` of ``spec``) from the checkpoint
    ``spec.pretrained`` names (see :func:`checkpoint_for`); the head stays as built. The checkpoint must have been
    trained on ``features`` (the feature config as a dict) when both are known. A spec without one: unchanged."""
    ckpt = checkpoint_for(spec.arch, spec.width, spec.pretrained)
    if ckpt is not None:
        init_backbone(net.backbone, ckpt, features)
    return net
