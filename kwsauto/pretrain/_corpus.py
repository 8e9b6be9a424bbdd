"""The pretraining feature set: the synthetic word corpus plus any real datasets, as one labelled set.

Each real dataset contributes its train and validation splits (never its test split), its labels prefixed by
the folder name so that words of different datasets stay different classes.
"""

from __future__ import annotations

from pathlib import Path

import torch

from kwsauto.data import DatasetOptions, load_dataset
from kwsauto.data.corpus import CorpusSpec, ensure_word_corpus
from kwsauto.features import FeatureConfig, FeatureSet, SplitTensors, compute_features

__all__ = ["pretraining_features"]


def pretraining_features(
    corpus: CorpusSpec | None,
    datasets: tuple[Path, ...],
    config: FeatureConfig,
    cache_dir: Path | None = None,
    device: torch.device | str = "cpu",
) -> tuple[FeatureSet, list[dict]]:
    """The merged feature set and, per source, a description of what went in (for the recipe)."""
    parts: list[tuple[str, FeatureSet]] = []
    sources: list[dict] = []
    if corpus is not None:
        root = ensure_word_corpus(corpus, cache_dir)
        index = load_dataset(root, DatasetOptions(val_fraction=0.1, test_fraction=0.0))
        parts.append(("", compute_features(index, config, cache_dir=cache_dir, device=device)))
        sources.append(_describe(corpus.describe(), index))
    for path in datasets:
        index = load_dataset(path)
        parts.append((f"{Path(path).name}/", compute_features(index, config, cache_dir=cache_dir, device=device)))
        sources.append(_describe(f"{path} (train and validation splits; test split left out)", index))
    if not parts:
        raise ValueError("Nothing to pretrain on: give a corpus, a dataset, or both.")
    labels: list[str] = []
    splits: dict[str, list[SplitTensors]] = {"train": [], "val": []}
    for prefix, features in parts:
        offset = len(labels)
        labels += [prefix + label for label in features.labels]
        for split in splits:
            part = features[split]
            splits[split].append(SplitTensors(part.features, part.waves, part.labels + offset))
    merged = {split: _cat(tensors) for split, tensors in splits.items()}
    empty = merged["val"]
    merged["test"] = SplitTensors(empty.features[:0], empty.waves[:0], empty.labels[:0])
    noise = [f.noise for _, f in parts if len(f.noise)]
    if noise:
        shortest = min(n.shape[1] for n in noise)
        noise_t = torch.cat([n[:, :shortest] for n in noise])  # [recordings, samples]
    else:
        noise_t = parts[0][1].noise
    return FeatureSet(config=config, labels=tuple(labels), splits=merged, noise=noise_t), sources


def _cat(parts: list[SplitTensors]) -> SplitTensors:
    return SplitTensors(
        torch.cat([p.features for p in parts]), torch.cat([p.waves for p in parts]), torch.cat([p.labels for p in parts])
    )


def _describe(what: str, index) -> dict:
    return {
        "source": what,
        "classes": len(index.labels),
        "train_clips": len(index.split("train")),
        "val_clips": len(index.split("val")),
        "train_speakers": len(index.speakers("train")),
        "val_speakers": len(index.speakers("val")),
    }
