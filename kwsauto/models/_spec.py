"""What a model is, as data: architecture, width and head."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kwsauto.errors import ConfigError, did_you_mean
from kwsauto.models._names import ARCHITECTURE_NAMES, DEPTHS, registry_name

__all__ = ["ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """A backbone (architecture and width multiplier) with a classifier head.

    The head is Edge Impulse's: global average pooling, an optional dense layer of ``head_units`` (0 = none)
    with ReLU, dropout, and the final linear layer. ``pretrained``: ``False`` trains from scratch, ``True``
    starts from the backbone kwsauto ships for this architecture and width, a path (or ``"imagenet"``) from
    that checkpoint (see :mod:`kwsauto.models._checkpoint`). ``depth``: the DS-CNN's depthwise-separable blocks
    (0: the architecture's own, 4 for the DS-CNN; Hello Edge's DS-CNN-L has 5); other architectures keep theirs.
    """

    arch: str = "mobilenetv1"
    width: float = 0.25
    head_units: int = 0
    dropout: float = 0.1
    pretrained: bool | str = False
    depth: int = 0

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURE_NAMES:
            raise ConfigError(
                f"Unknown architecture {self.arch!r}{did_you_mean(self.arch, ARCHITECTURE_NAMES)}; "
                f"valid: {sorted(ARCHITECTURE_NAMES)}."
            )
        if not 0.0 < self.width <= 2.0:
            raise ConfigError(f"Width multiplier must be in (0, 2], but got width={self.width!r}.")
        if self.depth and (self.arch not in DEPTHS or not 1 <= self.depth <= max(DEPTHS[self.arch])):
            valid = f"1-{max(DEPTHS[self.arch])}" if self.arch in DEPTHS else "0 (its own depth)"
            raise ConfigError(f"depth={self.depth!r} is not valid for {self.arch}; valid: {valid}.")
        if self.head_units < 0:
            raise ConfigError(f"head_units must be 0 (no dense layer) or positive, but got {self.head_units!r}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"Dropout must be in [0, 1), but got dropout={self.dropout!r}.")
        if not isinstance(self.pretrained, bool) and not (isinstance(self.pretrained, str) and self.pretrained):
            raise ConfigError(
                f"pretrained must be true, false, or a checkpoint path, but got pretrained={self.pretrained!r}."
            )

    @property
    def name(self) -> str:
        """The registry name, ``mobilenetv1_025``, ``mobilenetv2_035``, ``dscnn``, with ``_d5`` for a depth other than
        the architecture's own."""
        base = registry_name(self.arch, self.width)
        return base if self.depth in (0, DEPTHS.get(self.arch, (0,))[0]) else f"{base}_d{self.depth}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
