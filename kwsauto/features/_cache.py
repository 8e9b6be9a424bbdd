"""Features computed once per (dataset content, feature config) and kept on disk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from kwsauto.data import SPLITS, ClipIndex
from kwsauto.data._cache import atomic_torch_save, content_key, default_cache_dir, load_waves
from kwsauto.features._config import FeatureConfig
from kwsauto.features._extract import FeatureExtractor

__all__ = ["FeatureSet", "SplitTensors", "compute_features"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitTensors:
    """One split: features ``[n, 1, frames, coeffs]``, waveforms ``[n, samples]`` and labels ``[n]``."""

    features: torch.Tensor
    waves: torch.Tensor
    labels: torch.Tensor

    def waveforms(self, rows: torch.Tensor | slice | int = slice(None)) -> torch.Tensor:
        """``waves[rows]`` as float32 in [-1, 1]."""
        return self.waves[rows].float()


@dataclass(frozen=True)
class FeatureSet:
    """Every split of a dataset under one feature config, plus background noise for mixing."""

    config: FeatureConfig
    labels: tuple[str, ...]
    splits: dict[str, SplitTensors]
    noise: torch.Tensor  # [n_recordings, samples] at the feature rate, may be empty

    def __getitem__(self, split: str) -> SplitTensors:
        return self.splits[split]


def compute_features(
    index: ClipIndex,
    config: FeatureConfig,
    *,
    cache_dir: Path | None = None,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    progress: Callable[[str, int, int], None] | None = None,
) -> FeatureSet:
    """Decode (cached) and featurize (cached) every clip of ``index``; the features are computed on ``device``.

    The cache does not depend on the device: a GPU's features differ from the CPU's by float rounding only.
    ``progress(stage, done, total)`` follows the work that is not cached yet ("decoding clips", "computing features").
    """
    cache_dir = cache_dir or default_cache_dir()
    wave_key = content_key(index.clips, config.sample_rate_hz, config.window_samples)
    waves = load_waves(
        index.clips,
        sample_rate_hz=config.sample_rate_hz,
        window_samples=config.window_samples,
        cache_dir=cache_dir,
        key=wave_key,
        progress=progress,
    )
    feat_path = cache_dir / "features" / f"{wave_key}-{content_key((), sorted(config.to_dict().items()))}.pt"
    features = None
    if feat_path.is_file():
        try:
            features = torch.load(feat_path, weights_only=True)
        except Exception:
            _LOGGER.warning("Ignoring unreadable cache file %s", feat_path)
    if features is None or features.shape[0] != waves.shape[0]:
        extractor = FeatureExtractor(config).to(device)
        batches = []
        for i in range(0, len(waves), batch_size):
            batches.append(extractor(waves[i : i + batch_size].to(device)).cpu())  # [batch, 1, frames, coeffs]
            if progress is not None:
                progress("computing features", i + len(batches[-1]), len(waves))
        features = torch.cat(batches)
        atomic_torch_save(features, feat_path)
    label_ids = torch.tensor([index.labels.index(c.label) for c in index.clips], dtype=torch.long)
    splits = {}
    for split in SPLITS:
        rows = torch.tensor([i for i, c in enumerate(index.clips) if c.split == split], dtype=torch.long)
        splits[split] = SplitTensors(features[rows], waves[rows], label_ids[rows])
    noise = _noise_waves(index, config, cache_dir)
    return FeatureSet(config=config, labels=index.labels, splits=splits, noise=noise)


def _noise_waves(index: ClipIndex, config: FeatureConfig, cache_dir: Path) -> torch.Tensor:
    """Background recordings decoded to the feature rate, cropped to a common length for mixing."""
    if not index.noise_files:
        return torch.zeros(0, config.window_samples)
    from kwsauto.data import Clip

    clips = tuple(Clip(p, "_noise_", p.stem, "train") for p in index.noise_files)
    length = config.sample_rate_hz * 30  # 30 s of each recording is plenty of variety
    return load_waves(clips, sample_rate_hz=config.sample_rate_hz, window_samples=length, cache_dir=cache_dir)
