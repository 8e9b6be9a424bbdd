"""Features computed once per (dataset content, feature config) and kept on disk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kwsauto.data import SPLITS, ClipIndex
from kwsauto.data._cache import (
    WAVE_FULL_SCALE,
    content_key,
    default_cache_dir,
    load_waves,
    open_npy,
    read_npy_rows,
    save_npy,
    wave_cache_path,
)
from kwsauto.features._config import FeatureConfig
from kwsauto.features._extract import FeatureExtractor

__all__ = ["FeatureSet", "SplitTensors", "compute_features"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitTensors:
    """One split: features ``[n, 1, frames, coeffs]`` float32, waveforms ``[n, samples]`` and labels ``[n]``.

    ``waves`` are int16 (full scale ``WAVE_FULL_SCALE``), memory-mapped from the cache: :meth:`waveforms` gives
    float32 rows.
    """

    features: torch.Tensor
    waves: torch.Tensor
    labels: torch.Tensor

    def waveforms(self, rows: torch.Tensor | slice = slice(None)) -> torch.Tensor:
        """``waves[rows]`` as float32 in [-1, 1]: ``[len(rows), samples]``."""
        return self.waves[rows].float() / WAVE_FULL_SCALE


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

    Both caches are ``.npy`` files in split order (train, val, test), so each split is a slice of the file, not a
    copy: the waveforms as int16, memory-mapped and read as they are used; the features as float16 (half the bytes
    of float32; the rounding, under 1e-3 of the value, is far below what training notices), read into float32.
    The cache does not depend on the device: a GPU's features differ from the CPU's by float rounding only.
    ``progress(stage, done, total)`` follows the work that is not cached yet ("decoding clips", "computing features").
    """
    cache_dir = cache_dir or default_cache_dir()
    clips = tuple(sorted(index.clips, key=lambda c: SPLITS.index(c.split)))  # stable: each split keeps its order
    wave_key = content_key(clips, config.sample_rate_hz, config.window_samples)
    waves = load_waves(
        clips, sample_rate_hz=config.sample_rate_hz, window_samples=config.window_samples, cache_dir=cache_dir,
        key=wave_key, progress=progress,
    )  # [n, samples] int16, memory-mapped
    feat_path = cache_dir / "features" / f"{wave_key}-{content_key((), sorted(config.to_dict().items()))}.npy"
    shape = (len(clips), *config.shape)  # [n, 1, frames, coeffs]
    features = open_npy(feat_path, shape, np.float16)
    if features is None:
        extractor = FeatureExtractor(config).to(device)
        wave_path = wave_cache_path(cache_dir, wave_key)  # read, not mapped: the pages do not stay resident
        batches = []
        for i in range(0, len(clips), batch_size):
            pcm = torch.from_numpy(read_npy_rows(wave_path, i, i + batch_size)).to(device)  # [batch, samples] int16
            batches.append(extractor(pcm.float() / WAVE_FULL_SCALE).half().cpu())  # [batch, 1, frames, coeffs]
            if progress is not None:
                progress("computing features", i + len(pcm), len(clips))
        save_npy(feat_path, torch.cat(batches).numpy())
        features = open_npy(feat_path, shape, np.float16)
        if features is None:
            raise OSError(f"The feature cache {feat_path} just written cannot be read back; check the disk.")
    label_ids = torch.tensor([index.labels.index(c.label) for c in clips], dtype=torch.long)
    splits, start = {}, 0
    for split in SPLITS:
        end = start + sum(1 for c in clips if c.split == split)
        splits[split] = SplitTensors(features[start:end].float(), waves[start:end], label_ids[start:end])
        start = end
    noise = _noise_waves(index, config, cache_dir)
    return FeatureSet(config=config, labels=index.labels, splits=splits, noise=noise)


def _noise_waves(index: ClipIndex, config: FeatureConfig, cache_dir: Path) -> torch.Tensor:
    """Background recordings decoded to the feature rate, cropped to a common length for mixing."""
    if not index.noise_files:
        return torch.zeros(0, config.window_samples)
    from kwsauto.data import Clip

    clips = tuple(Clip(p, "_noise_", p.stem, "train") for p in index.noise_files)
    length = config.sample_rate_hz * 30  # 30 s of each recording is plenty of variety
    pcm = load_waves(clips, sample_rate_hz=config.sample_rate_hz, window_samples=length, cache_dir=cache_dir)
    return pcm.float() / WAVE_FULL_SCALE
