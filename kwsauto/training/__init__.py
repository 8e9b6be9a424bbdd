"""Training: Lightning module and data module, augmentation, early stopping and expert-mode hooks."""

from kwsauto.training._augment import augment_features, augment_waves
from kwsauto.training._best_weights import RestoreBestWeights
from kwsauto.training._config import LEVELS, AugmentConfig, TrainConfig, TrialConfig
from kwsauto.training._datamodule import KwsDataModule
from kwsauto.training._deadline import Deadline
from kwsauto.training._expert import HOOK_NAMES, ExpertHooks, load_expert
from kwsauto.training._finetune import BackboneFreeze
from kwsauto.training._hardware import (
    ACCELERATORS,
    PRECISIONS,
    Available,
    Hardware,
    HardwareRequest,
    available_hardware,
    gpu_for_worker,
    resolve_hardware,
)
from kwsauto.training._metrics import ClassMetrics, classification_metrics, predict
from kwsauto.training._module import KwsLightningModule
from kwsauto.training._progress import EpochListener, EpochReporter
from kwsauto.training._train import TrainResult, evaluate, fit

__all__ = [
    "ACCELERATORS",
    "PRECISIONS",
    "Available",
    "Hardware",
    "HardwareRequest",
    "available_hardware",
    "gpu_for_worker",
    "resolve_hardware",
    "HOOK_NAMES",
    "LEVELS",
    "AugmentConfig",
    "BackboneFreeze",
    "ClassMetrics",
    "Deadline",
    "EpochListener",
    "EpochReporter",
    "ExpertHooks",
    "KwsDataModule",
    "KwsLightningModule",
    "RestoreBestWeights",
    "TrainConfig",
    "TrainResult",
    "TrialConfig",
    "augment_features",
    "augment_waves",
    "classification_metrics",
    "evaluate",
    "fit",
    "load_expert",
    "predict",
]
