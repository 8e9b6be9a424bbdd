"""Pretraining: make the backbones that fine-tuning starts from (``kwsauto pretrain``)."""

from kwsauto.pretrain._run import PRETRAIN_FEATURES, PretrainResult, PretrainSettings, pretrain

__all__ = ["PRETRAIN_FEATURES", "PretrainResult", "PretrainSettings", "pretrain"]
