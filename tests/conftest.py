"""Shared fixtures: tiny datasets of synthetic tones, written as real audio files, so tests own their data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

LABELS = ("low", "mid", "high")
_FREQS = {"low": 300.0, "mid": 900.0, "high": 2500.0}


def tone_clip(label: str, speaker: int, rep: int, rate: int = 16000, seconds: float = 1.0) -> np.ndarray:
    """A short tone burst whose pitch says the label; speakers shift pitch and timing a little."""
    rng = np.random.default_rng(hash((label, speaker, rep)) % 2**32)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    freq = _FREQS[label] * (1 + 0.04 * (speaker - 3)) * (1 + 0.02 * rng.standard_normal())
    start = rng.uniform(0.1, 0.4)
    envelope = ((t > start) & (t < start + 0.4)).astype(np.float64)
    wave = 0.5 * envelope * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(n)
    return wave.astype(np.float32)


def write_tone_dataset(root: Path, speakers: int = 6, reps: int = 2, labels=LABELS) -> Path:
    """``root/<label>/<spk>_nohash_<rep>.wav``: a folder per label, Speech Commands file names."""
    for label in labels:
        (root / label).mkdir(parents=True, exist_ok=True)
        for s in range(speakers):
            for r in range(reps):
                sf.write(root / label / f"spk{s:02d}_nohash_{r}.wav", tone_clip(label, s, r), 16000, subtype="PCM_16")
    return root


@pytest.fixture(scope="session")
def tone_dataset(tmp_path_factory) -> Path:
    return write_tone_dataset(tmp_path_factory.mktemp("tones"), speakers=8, reps=6)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes its caches into one per-session temp folder, never into the user's cache."""
    monkeypatch.setenv("KWSAUTO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session", autouse=True)
def _threads():
    import torch

    torch.set_num_threads(1)  # tiny models: threading costs more than it gains, and keeps the suite steady
