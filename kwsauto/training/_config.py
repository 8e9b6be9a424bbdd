"""Training settings (Edge Impulse's, plus what a search may tune) and the trial configuration."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from kwsauto._fields import short_repr
from kwsauto._serial import check_choice, from_dict
from kwsauto.errors import ConfigError, did_you_mean
from kwsauto.features import FeatureConfig
from kwsauto.models import ModelSpec

__all__ = ["AugmentConfig", "TrainConfig", "TrialConfig", "LEVELS", "OPTIMIZERS", "LR_SCHEDULES"]

LEVELS = ("none", "low", "high")
OPTIMIZERS = ("adam", "adamw")
LR_SCHEDULES = ("constant", "cosine", "onecycle")


@dataclass(frozen=True)
class AugmentConfig:
    """Edge Impulse's augmentation policy plus waveform time shift and background-noise mixing.

    ``noise``: Gaussian noise on the spectrogram; ``time_mask``/``freq_mask``: SpecAugment masks;
    ``warping``: SpecAugment time warp. ``time_shift_ms``: the clip moves up to that far, either way.
    ``background_noise``: probability of mixing a background recording under a clip.
    """

    noise: str = "none"
    time_mask: str = "none"
    freq_mask: str = "none"
    warping: bool = False
    time_shift_ms: int = 0
    background_noise: float = 0.0

    def __post_init__(self) -> None:
        for name in ("noise", "time_mask", "freq_mask"):
            check_choice(name, getattr(self, name), LEVELS)
        if not 0 <= self.time_shift_ms <= 500:
            raise ConfigError(f"time_shift_ms must be in [0, 500], but got {self.time_shift_ms!r}.")
        if not 0.0 <= self.background_noise <= 1.0:
            raise ConfigError(f"background_noise is a probability in [0, 1], but got {self.background_noise!r}.")

    @property
    def needs_waveforms(self) -> bool:
        return self.time_shift_ms > 0 or self.background_noise > 0

    @classmethod
    def from_dict(cls, values: dict) -> AugmentConfig:
        return from_dict(cls, values, "augmentation setting")


@dataclass(frozen=True)
class TrainConfig:
    """One training run: Edge Impulse's "training cycles" are ``epochs``; ``auto_balance`` weights classes.

    ``optimizer``: Adam (L2 ``weight_decay``, Edge Impulse's) or AdamW (decoupled ``weight_decay``).
    ``lr_schedule``: ``constant``; ``cosine`` (linear warm-up over ``warmup_fraction`` of the steps, then cosine
    decay to zero); ``onecycle`` (PyTorch's one-cycle policy peaking at ``learning_rate`` after ``warmup_fraction``).
    Early stopping watches a smoothed validation loss and never stops before ``min_epochs_fraction`` of ``epochs``.

    Fine-tuning a pretrained backbone: for the first ``freeze_epochs`` only the head (and BatchNorm) trains, then
    the backbone joins at ``learning_rate * backbone_lr_factor`` (Lightning's ``BaseFinetuning`` idiom).
    """

    epochs: int = 30
    learning_rate: float = 0.005
    batch_size: int = 32
    auto_balance: bool = False
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    label_smoothing: float = 0.0
    weight_decay: float = 0.0
    early_stopping_patience: int = 8
    min_epochs_fraction: float = 0.5
    optimizer: str = "adam"
    lr_schedule: str = "constant"
    warmup_fraction: float = 0.1
    seed: int = 0
    channels_last: bool = True
    freeze_epochs: int = 0
    backbone_lr_factor: float = 1.0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs (training cycles) must be at least 1, but got {self.epochs!r}.")
        if not 0 < self.learning_rate < 10:
            raise ConfigError(f"learning_rate must be in (0, 10), but got {self.learning_rate!r}.")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, but got {self.batch_size!r}.")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must be in [0, 1), but got {self.label_smoothing!r}.")
        if self.early_stopping_patience < 0:
            raise ConfigError(f"early_stopping_patience must be >= 0 (0 = off), got {self.early_stopping_patience!r}.")
        if not 0.0 <= self.min_epochs_fraction <= 1.0:
            raise ConfigError(f"min_epochs_fraction must be in [0, 1], but got {self.min_epochs_fraction!r}.")
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if not 0.0 < self.warmup_fraction < 1.0:
            raise ConfigError(f"warmup_fraction must be in (0, 1), but got {self.warmup_fraction!r}.")
        if self.freeze_epochs < 0:
            raise ConfigError(f"freeze_epochs must be >= 0 (0 = never frozen), but got {self.freeze_epochs!r}.")
        if not 0.0 < self.backbone_lr_factor <= 10.0:
            raise ConfigError(f"backbone_lr_factor must be in (0, 10], but got {self.backbone_lr_factor!r}.")

    @property
    def min_epochs(self) -> int:
        """The epochs every run trains before early stopping may end it."""
        return max(1, round(self.epochs * self.min_epochs_fraction))

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        return from_dict(cls, values, "training setting")


@dataclass(frozen=True)
class TrialConfig:
    """Everything one trial needs: features, model and training."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def with_backbone_features(self) -> TrialConfig:
        """This config with the features its pretrained backbone was trained on (unchanged when not pretrained,
        or when the checkpoint does not say)."""
        from kwsauto.models import pretrained_features

        known = pretrained_features(self.model.arch, self.model.width, self.model.pretrained)
        if known is None:
            return self
        return dataclasses.replace(self, features=FeatureConfig.from_dict(known))

    @classmethod
    def from_dict(cls, values: dict) -> TrialConfig:
        unknown = set(values) - {"features", "model", "train"}
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(
                f"Unknown config section {key!r}{did_you_mean(key, ['features', 'model', 'train'])}; "
                "valid: features, model, train."
            )
        for section in ("features", "model", "train"):
            if not isinstance(values.get(section, {}), dict):
                raise ConfigError(f"Config section {section!r} must be a mapping of settings, but got "
                                  f"{short_repr(values[section])}.")
        return cls(
            features=FeatureConfig.from_dict(values.get("features", {})),
            model=from_dict(ModelSpec, values.get("model", {}), "model setting"),
            train=TrainConfig.from_dict(values.get("train", {})),
        )
