"""Speakers from file names, and speaker-disjoint train/validation/test splits.

A reported accuracy is only worth something on speakers the model never heard, so when a dataset brings no
split of its own, kwsauto splits by speaker, never by clip.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

from kwsauto.errors import DataError

__all__ = ["DEFAULT_SPEAKER_PATTERNS", "speaker_of", "speaker_split"]

# Tried in order on the file name without suffix. Each has a ``speaker`` group.
DEFAULT_SPEAKER_PATTERNS: tuple[str, ...] = (
    r"^(?P<speaker>[^_]+)_nohash_\d+$",  # Speech Commands: 0a7c2a8d_nohash_0
    r"^(?P<speaker>[^_]+)_NO_\d+$",  # Arabic Speech Commands: 00000030_NO_01
    r"^(?P<label>[^_]+)_(?P<speaker>[^_]+)_\d+$",  # FSDD: 7_jackson_32
)


def speaker_of(path: Path, patterns: Sequence[str]) -> str | None:
    """The speaker id in ``path``'s file name, by the first pattern that matches, or None."""
    for pattern in patterns:
        match = re.match(pattern, path.stem)
        if match and match.groupdict().get("speaker"):
            return match.group("speaker")
    return None


def speaker_split(
    speakers_by_label: dict[str, set[str]],
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
) -> dict[str, str]:
    """Assign each speaker to ``train``, ``val`` or ``test``.

    ``test_fraction`` of the speakers go to test, then ``val_fraction`` of the rest to validation (Edge
    Impulse's 20 % of training). Every label must have at least two speakers, or it could not appear on
    both sides of the split.
    """
    for label, speakers in sorted(speakers_by_label.items()):
        if len(speakers) < 2:
            raise DataError(
                f"Label {label!r} has {len(speakers)} speaker(s) ({', '.join(sorted(speakers)) or 'none'}); "
                "a speaker-disjoint split needs at least 2. Record more speakers, or give a split file "
                "(train.csv/val.csv/test.csv) or a `speaker_patterns` that finds the speakers."
            )
    speakers = sorted(set().union(*speakers_by_label.values()))
    rng = random.Random(seed)
    rng.shuffle(speakers)
    n = len(speakers)
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    n_val = max(1, round((n - n_test) * val_fraction)) if val_fraction > 0 else 0
    if n - n_test - n_val < 1:
        raise DataError(
            f"Only {n} speakers: too few for train, validation and test sets. Add speakers or give a split file."
        )
    assignment = {s: "test" for s in speakers[:n_test]}
    assignment.update({s: "val" for s in speakers[n_test : n_test + n_val]})
    assignment.update({s: "train" for s in speakers[n_test + n_val :]})
    return assignment
