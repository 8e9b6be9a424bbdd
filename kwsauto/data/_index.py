"""The clip index: every clip of a dataset with its label, speaker and split, before any audio is decoded."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SPLITS", "Clip", "ClipIndex"]

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Clip:
    """One training example: a file (or a window of a long noise recording) with its label and split."""

    path: Path
    label: str
    speaker: str
    split: str
    offset_s: float = 0.0


@dataclass(frozen=True)
class ClipIndex:
    """A dataset as kwsauto sees it.

    ``split_source`` says where the split came from: ``"csv"`` (the dataset's split files),
    ``"lists"`` (Speech Commands' validation/testing lists) or ``"speaker"`` (made here, speakers disjoint).
    ``skipped`` holds files that were not audio, with the reason.
    """

    root: Path
    clips: tuple[Clip, ...]
    labels: tuple[str, ...]
    split_source: str
    noise_files: tuple[Path, ...] = ()
    skipped: tuple[tuple[Path, str], ...] = field(default=())

    def split(self, name: str) -> tuple[Clip, ...]:
        return tuple(c for c in self.clips if c.split == name)

    def label_index(self, label: str) -> int:
        return self.labels.index(label)

    def counts(self) -> dict[str, collections.Counter[str]]:
        """Clips per label, per split: ``{"train": Counter({"yes": 120, ...}), ...}``."""
        out: dict[str, collections.Counter[str]] = {s: collections.Counter() for s in SPLITS}
        for clip in self.clips:
            out[clip.split][clip.label] += 1
        return out

    def speakers(self, split: str) -> set[str]:
        return {c.speaker for c in self.clips if c.split == split}
