"""Models: MobileNetV1, MobileNetV2 and DS-CNN backbones for spectrograms, with a shared classifier head."""

from kwsauto.models._head import ClassifierHead, KwsNet
from kwsauto.models._registry import ARCHITECTURES, WIDTHS, create_model, list_models, registry_name, resolve
from kwsauto.models._spec import ModelSpec

__all__ = [
    "ARCHITECTURES",
    "WIDTHS",
    "ClassifierHead",
    "KwsNet",
    "ModelSpec",
    "create_model",
    "list_models",
    "registry_name",
    "resolve",
]
