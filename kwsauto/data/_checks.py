"""What a user should know about a dataset before trusting its accuracy: who is in each split, and the audio rate.

An accuracy measured on one or two speakers says little about the next speaker; audio recorded below the model's
sample rate is upsampled and lacks the high band a device microphone will deliver.
"""

from __future__ import annotations

from dataclasses import dataclass

import soundfile as sf

from kwsauto.data._index import SPLITS, ClipIndex

__all__ = ["DataReport", "MIN_SPEAKERS", "check_dataset"]

MIN_SPEAKERS = 3  # fewer speakers in validation or test make its accuracy a statement about those few people


@dataclass(frozen=True)
class DataReport:
    """Speakers per split (noise windows excluded), the lowest sample rate among the clips, and the warnings."""

    speakers: dict[str, tuple[str, ...]]
    lowest_rate_hz: int | None
    warnings: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"speakers": {k: list(v) for k, v in self.speakers.items()}, "lowest_rate_hz": self.lowest_rate_hz,
                "warnings": list(self.warnings)}


def check_dataset(index: ClipIndex, sample_rate_hz: int) -> DataReport:
    """Speakers per split and the lowest clip sample rate of ``index``, with a warning for each problem."""
    spoken = [c for c in index.clips if c.offset_s == 0.0 and c.path not in set(index.noise_files)]
    speakers = {split: tuple(sorted({c.speaker for c in spoken if c.split == split})) for split in SPLITS}
    warnings = []
    for split in ("val", "test"):
        n = len(speakers[split])
        if 0 < n < MIN_SPEAKERS:
            warnings.append(
                f"The {split} split holds {n} speaker(s) ({', '.join(speakers[split])}): its accuracy says little "
                f"about new speakers; give at least {MIN_SPEAKERS} (more clips, or split CSVs)."
            )
    rates = {}
    for clip in spoken:
        try:
            rates[clip.path] = sf.info(str(clip.path)).samplerate
        except Exception:  # unreadable files were reported when the dataset was indexed
            continue
    lowest = min(rates.values(), default=None)
    if lowest is not None and lowest < sample_rate_hz:
        slow = sum(rate < sample_rate_hz for rate in rates.values())
        warnings.append(
            f"{slow} clip(s) are recorded at {lowest} Hz, below the model's {sample_rate_hz} Hz: they are upsampled "
            f"and lack the band above {lowest // 2} Hz that the device's microphone will deliver."
        )
    return DataReport(speakers, lowest, tuple(warnings))
