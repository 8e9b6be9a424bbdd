"""One training run, from a feature set and a trial config to trained weights and metrics."""

from __future__ import annotations

import contextlib
import logging
import signal
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from kwsauto._interrupt import Interrupted, on_stop_signals
from kwsauto.features import FeatureSet
from kwsauto.models import KwsNet, create_model, load_pretrained
from kwsauto.training._best_weights import RestoreBestWeights
from kwsauto.training._config import TrialConfig
from kwsauto.training._datamodule import KwsDataModule
from kwsauto.training._early_stopping import SmoothedEarlyStopping
from kwsauto.training._expert import ExpertHooks
from kwsauto.training._finetune import BackboneFreeze
from kwsauto.training._hardware import Hardware, resolve_hardware
from kwsauto.training._metrics import ClassMetrics, classification_metrics, predict
from kwsauto.training._module import KwsLightningModule
from kwsauto.training._precise_bn import STEPS_NEEDING_PRECISE_BN, PreciseBatchNorm
from kwsauto.training._progress import EpochListener, EpochReporter

__all__ = ["TrainResult", "fit", "evaluate"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """The outcome of :func:`fit`: the best epoch's weights (already loaded in ``model``) and its metrics."""

    model: KwsNet
    val_accuracy: float
    best_epoch: int
    epochs_run: int
    seconds: float
    history: tuple[dict[str, float], ...] = field(default=())
    test: ClassMetrics | None = None
    hardware: Hardware = field(default_factory=Hardware)  # where it trained (the model is back on the CPU)


@contextlib.contextmanager
def _stop_on_interrupt(trainer: pl.Trainer) -> Iterator[list[int]]:
    """Ctrl-C or SIGTERM asks the trainer to stop after the current batch; the signals received are collected.

    Lightning's own handlers would exit the process (Ctrl-C) or end it with a silent ``SystemExit`` (SIGTERM).
    """
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        trainer.should_stop = True

    with on_stop_signals(stop):
        yield received


def evaluate(model: torch.nn.Module, features: FeatureSet, split: str = "test") -> ClassMetrics:
    data = features[split]
    return classification_metrics(data.labels, predict(model, data.features), features.labels)


def fit(
    features: FeatureSet,
    config: TrialConfig,
    *,
    hooks: ExpertHooks | None = None,
    listener: EpochListener | None = None,
    callbacks: Sequence[pl.Callback] = (),
    evaluate_test: bool = False,
    model: KwsNet | None = None,
    restore_best: bool = True,
    hardware: Hardware | None = None,
) -> TrainResult:
    """Train ``config``'s model on ``features``' train split, early-stopped on a smoothed validation loss.

    ``listener`` sees every epoch's metrics; ``callbacks`` join the trainer (a pruning callback, say).
    ``restore_best=False`` keeps the last epoch's weights (a refit, whose validation clips are training data).
    ``hardware``: where to train (default: ``auto``, a GPU when torch sees one); the returned model is on the CPU.
    """
    if config.features != features.config:
        raise ValueError("The feature set was computed with another FeatureConfig than the trial's.")
    started = time.perf_counter()
    hardware = hardware or resolve_hardware()
    pl.seed_everything(config.train.seed, workers=True, verbose=False)
    hooks = hooks or ExpertHooks()
    data = KwsDataModule(features, config.train)
    net = model or load_pretrained(
        create_model(config.model, data.num_classes, features.config.shape), config.model, config.features.to_dict()
    )
    if hooks.on_model is not None:
        hooks.on_model(net)
    module = KwsLightningModule(net, config.train, data.class_weights(), hooks)
    best = RestoreBestWeights("val_acc", restore=restore_best)
    reporter = EpochReporter(listener)
    all_callbacks: list[pl.Callback] = [best, reporter, *callbacks]
    train_x = features["train"].features
    if len(train_x) / config.train.batch_size < STEPS_NEEDING_PRECISE_BN:
        all_callbacks.insert(0, PreciseBatchNorm(train_x, config.train.batch_size, seed=config.train.seed))
    if config.train.early_stopping_patience > 0:
        all_callbacks.append(SmoothedEarlyStopping(config.train.early_stopping_patience, config.train.min_epochs))
    if config.train.freeze_epochs > 0:
        all_callbacks.append(BackboneFreeze(config.train.freeze_epochs, config.train.backbone_lr_factor))
    if hooks.callbacks is not None:
        all_callbacks += list(hooks.callbacks())
    trainer = pl.Trainer(
        **hardware.trainer_kwargs(),
        max_epochs=config.train.epochs,
        callbacks=all_callbacks,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=False,
    )
    with warnings.catch_warnings(), _stop_on_interrupt(trainer) as interrupted:
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*The number of training batches.*")
        warnings.filterwarnings("ignore", ".*params to be frozen already exist.*")  # BatchNorm trains throughout
        try:
            trainer.fit(module, datamodule=data)
        except SIGTERMException:  # Lightning saw the SIGTERM too; the trainer has stopped
            interrupted.append(signal.SIGTERM)
    if interrupted:
        raise Interrupted(interrupted[-1])  # after the trainer stopped cleanly: the caller decides what it means
    trained = module.model.cpu().to(memory_format=torch.contiguous_format).eval()
    return TrainResult(
        model=trained,
        val_accuracy=best.best_score,
        best_epoch=best.best_epoch,
        epochs_run=trainer.current_epoch,
        seconds=time.perf_counter() - started,
        history=tuple(reporter.history),
        test=evaluate(trained, features, "test") if evaluate_test else None,
        hardware=hardware,
    )
