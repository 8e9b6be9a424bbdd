"""Features: MFE and MFCC spectrograms with Edge Impulse's parameters, cached on disk."""

from kwsauto.features._cache import FeatureSet, SplitTensors, compute_features
from kwsauto.features._config import FEATURE_KINDS, FeatureConfig
from kwsauto.features._extract import FeatureExtractor

__all__ = ["FEATURE_KINDS", "FeatureConfig", "FeatureExtractor", "FeatureSet", "SplitTensors", "compute_features"]
