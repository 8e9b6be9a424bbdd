"""Models: MobileNetV1, MobileNetV2 and DS-CNN backbones for spectrograms, a shared classifier head, and the
pretrained backbones kwsauto ships (each registry entry names its own). ``create_model`` builds;
``load_pretrained`` starts a built model's backbone from a checkpoint."""

from kwsauto.models._checkpoint import (
    BackboneCheckpoint,
    CheckpointError,
    load_backbone_checkpoint,
    save_backbone_checkpoint,
)
from kwsauto.models._head import ClassifierHead, KwsNet
from kwsauto.models._pretrained import (
    PRETRAINED_DIR,
    checkpoint_for,
    has_pretrained,
    load_pretrained,
    pretrained_features,
    shipped_backbones,
    shipped_recipe,
)
from kwsauto.models._names import DEPTHS
from kwsauto.models._registry import (
    ARCHITECTURES,
    WIDTHS,
    BackboneEntry,
    create_model,
    list_models,
    registry_name,
    resolve,
)
from kwsauto.models._spec import ModelSpec

__all__ = [
    "ARCHITECTURES",
    "PRETRAINED_DIR",
    "BackboneCheckpoint",
    "BackboneEntry",
    "CheckpointError",
    "checkpoint_for",
    "has_pretrained",
    "load_backbone_checkpoint",
    "load_pretrained",
    "pretrained_features",
    "save_backbone_checkpoint",
    "shipped_backbones",
    "shipped_recipe",
    "DEPTHS",
    "WIDTHS",
    "ClassifierHead",
    "KwsNet",
    "ModelSpec",
    "create_model",
    "list_models",
    "registry_name",
    "resolve",
]
