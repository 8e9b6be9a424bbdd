"""Dataset checks: speakers per split and the audio's sample rate."""

from pathlib import Path

import numpy as np
import soundfile as sf

from kwsauto.data import DatasetOptions, check_dataset, load_dataset

ARABIC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "arabic-speech-commands"
FSDD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fsdd" / "recordings"


def test_the_official_arabic_split_has_six_test_speakers_and_no_warning():
    report = check_dataset(load_dataset(ARABIC), 16000)
    assert [len(report.speakers[s]) for s in ("train", "val", "test")] == [18, 6, 6]
    assert not set(report.speakers["train"]) & set(report.speakers["test"])
    assert report.lowest_rate_hz == 16000 and report.warnings == ()


def test_8khz_audio_for_a_16khz_model_is_named():
    report = check_dataset(load_dataset(FSDD), 16000)
    assert report.lowest_rate_hz == 8000
    assert any("8000 Hz, below the model's 16000 Hz" in w for w in report.warnings)
    assert not any("8000 Hz" in w for w in check_dataset(load_dataset(FSDD), 8000).warnings)


def test_a_split_with_two_speakers_is_named(tmp_path):
    rng = np.random.default_rng(0)
    for label in ("yes", "no"):
        (tmp_path / label).mkdir()
        for speaker in ("s1", "s2", "s3", "s4", "s5"):
            sf.write(tmp_path / label / f"{speaker}_nohash_0.wav", rng.uniform(-0.1, 0.1, 16000), 16000)
    report = check_dataset(load_dataset(tmp_path, DatasetOptions(val_fraction=0.2, test_fraction=0.2)), 16000)
    small = [s for s in ("val", "test") if 0 < len(report.speakers[s]) < 3]
    assert small and all(any(f"The {s} split holds" in w for w in report.warnings) for s in small)
