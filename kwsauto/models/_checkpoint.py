"""Backbone checkpoints: kwsauto's own (safetensors, with metadata), torch state dicts, and torchvision ImageNet.

A kwsauto checkpoint is a ``.safetensors`` file holding one backbone's weights, without a classifier head, and
in its metadata the architecture, width, the feature config it was trained on, its label set and its recipe.
Convolution and linear weights are stored as int8 with one float32 scale per output channel (symmetric), the
rest (BatchNorm) as float32: a quarter of the float size, and as a starting point for fine-tuning the rounding
(under 0.4 % of each channel's range) does not matter. Keys are those of the backbone before TFLite SAME padding
is applied (see ``_same_padding``), so one checkpoint serves every input shape.

Other sources, loaded with ``torch.load(weights_only=True)`` so that no pickled code ever runs:

* a ``.pt``/``.pth``/``.ckpt`` holding a kwsauto backbone, a whole kwsauto network, or a Lightning checkpoint of
  one (keys ``model.backbone.*``);
* torchvision's ImageNet MobileNetV2 (``mobilenet_v2-*.pth``): the RGB stem is folded to one channel by summing
  its three input planes, the ImageNet classifier dropped.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kwsauto.errors import KwsautoError
from kwsauto.models._names import registry_name

__all__ = [
    "CHECKPOINT_FORMAT",
    "IMAGENET",
    "BackboneCheckpoint",
    "CheckpointError",
    "canonical_state_dict",
    "imagenet_weights_path",
    "load_backbone_checkpoint",
    "load_canonical_state_dict",
    "save_backbone_checkpoint",
]

_LOGGER = logging.getLogger(__name__)
CHECKPOINT_FORMAT = "kwsauto-backbone-1"
IMAGENET = "imagenet"
_SCALE_SUFFIX = ":scale"
# torchvision's file names for its ImageNet MobileNetV2 weights (IMAGENET1K_V1 and IMAGENET1K_V2).
_IMAGENET_FILES = ("mobilenet_v2-b0353104.pth", "mobilenet_v2-7ebf99e0.pth")


class CheckpointError(KwsautoError):
    """A backbone checkpoint that cannot be read or does not match the model it should initialise."""


@dataclass(frozen=True)
class BackboneCheckpoint:
    """One pretrained backbone: weights in canonical keys plus what it was trained on.

    ``features`` is the :class:`~kwsauto.features.FeatureConfig` as a dict, or ``None`` when unknown (ImageNet,
    a bare state dict); ``source`` says which kind of file it came from.
    """

    path: Path
    arch: str | None
    width: float | None
    state_dict: dict[str, torch.Tensor]
    features: dict[str, Any] | None = None
    labels: tuple[str, ...] = ()
    recipe: dict[str, Any] = field(default_factory=dict)
    source: str = "kwsauto"

    @property
    def name(self) -> str:
        return registry_name(self.arch, self.width) if self.arch and self.width else self.path.name


def _wrapped_convs(module: nn.Module) -> set[str]:
    """Names of the ``Sequential(ZeroPad2d, Conv2d)`` wrappers that SAME padding put in ``module``."""
    return {
        name
        for name, m in module.named_modules()
        if isinstance(m, nn.Sequential) and len(m) == 2 and isinstance(m[0], nn.ZeroPad2d) and isinstance(m[1], nn.Conv2d)
    }


def canonical_state_dict(backbone: nn.Module) -> dict[str, torch.Tensor]:
    """``backbone``'s state dict with the SAME-padding wrappers taken out of the keys."""
    wrapped = _wrapped_convs(backbone)
    out = {}
    for key, value in backbone.state_dict().items():
        prefix, _, leaf = key.rpartition(".")
        if prefix.endswith(".1") and prefix[:-2] in wrapped:
            key = f"{prefix[:-2]}.{leaf}"
        elif prefix == "1" and "" in wrapped:
            key = leaf
        out[key] = value.detach().clone()
    return out


def load_canonical_state_dict(backbone: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Load ``state`` (canonical keys, or those of a padded network) into ``backbone`` (padded or not); any
    missing, extra or misshapen key is an error."""
    wrapped = _wrapped_convs(backbone)
    own = backbone.state_dict()
    mapped = {}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        if key in own:
            target = key
        elif prefix in wrapped:  # canonical key, padded model
            target = f"{prefix}.1.{leaf}"
        elif prefix.endswith(".1") and f"{prefix[:-2]}.{leaf}" in own:  # padded key (a saved network), unpadded model
            target = f"{prefix[:-2]}.{leaf}"
        else:
            target = key
        mapped[target] = value
    missing = sorted(set(own) - set(mapped))
    extra = sorted(set(mapped) - set(own))
    if missing or extra:
        what = f"lacks {missing[0]!r}" if missing else f"has an unexpected {extra[0]!r}"
        raise CheckpointError(
            f"{path}: the checkpoint {what} ({len(missing)} missing, {len(extra)} unexpected keys): it is not "
            "a backbone of this architecture."
        )
    for key, value in mapped.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise CheckpointError(
                f"{path}: {key} has shape {tuple(value.shape)} in the checkpoint but {tuple(own[key].shape)} in "
                "the model: the checkpoint is of another width or architecture."
            )
    backbone.load_state_dict({k: v.to(own[k].dtype) for k, v in mapped.items()})


def _pack(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights with 2+ dims to int8 with per-output-channel float32 scales; everything else as is."""
    packed = {}
    for key, value in state.items():
        if value.is_floating_point() and value.dim() >= 2:
            flat = value.float().reshape(value.shape[0], -1)
            scale = flat.abs().amax(dim=1).clamp_min(1e-12) / 127.0  # [out_channels]
            packed[key] = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8).reshape(value.shape)
            packed[key + _SCALE_SUFFIX] = scale
        else:
            packed[key] = value.contiguous()
    return packed


def _unpack(packed: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state = {}
    for key, value in packed.items():
        if key.endswith(_SCALE_SUFFIX):
            continue
        scale = packed.get(key + _SCALE_SUFFIX)
        if scale is not None:
            shape = (-1,) + (1,) * (value.dim() - 1)
            value = value.float() * scale.reshape(shape)
        state[key] = value
    return state


def save_backbone_checkpoint(
    path: Path,
    backbone: nn.Module,
    *,
    arch: str,
    width: float,
    features: dict[str, Any],
    labels: tuple[str, ...],
    recipe: dict[str, Any],
) -> None:
    """Write ``backbone`` as a kwsauto checkpoint (atomically)."""
    from safetensors.torch import save_file

    from kwsauto._io import atomic_write

    metadata = {
        "format": CHECKPOINT_FORMAT,
        "arch": arch,
        "width": repr(float(width)),
        "features": json.dumps(features, sort_keys=True),
        "labels": json.dumps(list(labels)),
        "recipe": json.dumps(recipe, sort_keys=True),
        "weights": "int8 per-output-channel symmetric (conv, linear); float32 otherwise",
    }
    tensors = _pack(canonical_state_dict(backbone))
    atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_backbone_checkpoint(path: str | Path) -> BackboneCheckpoint:
    """Read a backbone checkpoint of any supported kind (see the module doc); one-line errors name the file."""
    path = Path(path).expanduser()
    if str(path) == IMAGENET:
        path = imagenet_weights_path()
    if not path.is_file():
        raise CheckpointError(
            f"Pretrained checkpoint {path} does not exist; give the path of a .safetensors written by "
            "`kwsauto pretrain` or a torch state dict."
        )
    stat = path.stat()
    return _load_cached(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _load_cached(path: Path, mtime_ns: int, size: int) -> BackboneCheckpoint:
    with path.open("rb") as fh:
        head = fh.read(8)
    if head[:2] == b"PK" or path.suffix in (".pt", ".pth", ".ckpt", ".bin"):
        return _from_torch(path)
    return _from_safetensors(path)


def _from_safetensors(path: Path) -> BackboneCheckpoint:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = fh.metadata() or {}
            packed = {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118 (safe_open is not a dict)
    except (SafetensorError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"{path} is not a readable safetensors or torch weights file ({reason}); give a checkpoint written "
            "by `kwsauto pretrain` or `torch.save(model.state_dict(), ...)`."
        ) from None
    if metadata.get("format") != CHECKPOINT_FORMAT:
        return _from_state_dict(path, _unpack(packed), source="safetensors")
    try:
        return BackboneCheckpoint(
            path=path,
            arch=metadata["arch"],
            width=float(metadata["width"]),
            state_dict=_unpack(packed),
            features=json.loads(metadata["features"]),
            labels=tuple(json.loads(metadata.get("labels", "[]"))),
            recipe=json.loads(metadata.get("recipe", "{}")),
        )
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: kwsauto checkpoint metadata is damaged ({exc}); rerun `kwsauto pretrain`.") from None


def _from_torch(path: Path) -> BackboneCheckpoint:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0][:100]
        raise CheckpointError(
            f"{path} holds pickled Python objects that torch.load(weights_only=True) refuses to run ({first}); "
            "re-save only the tensors: torch.save(model.state_dict(), path)."
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path} is not a readable torch weights file ({reason}); give a .safetensors from `kwsauto pretrain` "
            "or a file written by torch.save(model.state_dict(), path)."
        ) from None
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT and isinstance(obj.get("state_dict"), dict):
        return BackboneCheckpoint(
            path=path,
            arch=obj.get("arch"),
            width=float(obj["width"]) if obj.get("width") is not None else None,
            state_dict=obj["state_dict"],
            features=obj.get("features"),
            labels=tuple(obj.get("labels", ())),
            recipe=dict(obj.get("recipe", {})),
        )
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):  # a Lightning checkpoint
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(
            f"{path} does not hold a state dict (a mapping of names to tensors); save one with "
            "torch.save(model.state_dict(), path)."
        )
    return _from_state_dict(path, obj, source="torch")


def _from_state_dict(path: Path, state: dict[str, torch.Tensor], source: str) -> BackboneCheckpoint:
    """A bare state dict: torchvision ImageNet MobileNetV2, or a kwsauto network or backbone without metadata."""
    stem = state.get("features.0.0.weight")
    if stem is not None and stem.dim() == 4 and stem.shape[1] == 3 and "classifier.1.weight" in state:
        folded = {k: v for k, v in state.items() if not k.startswith("classifier.")}
        folded["features.0.0.weight"] = stem.sum(dim=1, keepdim=True)  # RGB planes summed: [32, 1, 3, 3]
        return BackboneCheckpoint(path, "mobilenetv2", 1.0, folded, source="torchvision-imagenet")
    for prefix in ("model.backbone.", "backbone."):
        if any(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            break
    return BackboneCheckpoint(path, None, None, state, source=source)


def imagenet_weights_path() -> Path:
    """torchvision's ImageNet MobileNetV2 file in the torch hub cache; a one-line error says how to get it."""
    hub = Path(os.environ.get("TORCH_HOME") or Path.home() / ".cache" / "torch") / "hub" / "checkpoints"
    for name in _IMAGENET_FILES:
        if (hub / name).is_file():
            return hub / name
    raise CheckpointError(
        f"No torchvision ImageNet MobileNetV2 weights in {hub} (looked for {' or '.join(_IMAGENET_FILES)}); kwsauto "
        "never downloads. On a machine with internet run `python -c \"import torchvision; "
        "torchvision.models.mobilenet_v2(weights='IMAGENET1K_V1')\"`, copy the file there, or pass its path."
    )
