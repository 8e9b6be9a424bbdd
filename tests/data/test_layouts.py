import shutil

import numpy as np
import pytest
import soundfile as sf

from kwsauto.data import DatasetOptions, load_dataset, read_clip, speaker_of
from kwsauto.errors import DataError
from tests.conftest import tone_clip, write_tone_dataset


def _speaker_disjoint(index):
    sets = [index.speakers(s) for s in ("train", "val", "test")]
    return not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])


def test_folder_per_label_gets_a_speaker_disjoint_split(tone_dataset):
    index = load_dataset(tone_dataset)
    assert index.labels == ("high", "low", "mid")
    assert index.split_source == "speaker"
    assert all(index.split(s) for s in ("train", "val", "test"))
    assert _speaker_disjoint(index)
    assert len(index.clips) == 3 * 8 * 6


@pytest.mark.parametrize(
    "suffix, subtype, rate, channels",
    [(".wav", "PCM_U8", 8000, 1), (".wav", "PCM_16", 16000, 2), (".wav", "PCM_24", 22050, 1),
     (".wav", "PCM_32", 44100, 1), (".wav", "FLOAT", 16000, 1), (".flac", "PCM_16", 48000, 2), (".ogg", "VORBIS", 16000, 1)],
)
def test_any_soundfile_format_decodes_to_16k_mono_window(tmp_path, suffix, subtype, rate, channels):
    wave = tone_clip("mid", 1, 0, rate=rate, seconds=1.3)
    data = np.stack([wave] * channels, axis=1) if channels > 1 else wave
    path = tmp_path / f"clip{suffix}"
    sf.write(path, data, rate, subtype=subtype)
    out = read_clip(path, sample_rate_hz=16000, window_samples=16000)
    assert out.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(out.numpy()))
    peak_hz = np.argmax(spectrum) * 16000 / 16000
    assert abs(peak_hz - 900 * (1 + 0.04 * -2)) < 60  # the tone survives resampling


def test_short_clip_is_padded_and_centered(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, np.ones(4000, dtype=np.float32) * 0.5, 16000)
    out = read_clip(path, window_samples=16000)
    assert out.shape == (16000,) and out[:6000].abs().max() == 0 and out[8000] == pytest.approx(0.5, abs=1e-3)


def test_speech_commands_lists(tmp_path):
    root = write_tone_dataset(tmp_path / "sc", speakers=4, reps=1)
    (root / "validation_list.txt").write_text("low/spk01_nohash_0.wav\nmid/spk01_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("high/spk02_nohash_0.wav\n")
    noise = root / "_background_noise_"
    noise.mkdir()
    sf.write(noise / "white.wav", np.random.default_rng(0).uniform(-0.3, 0.3, 16000 * 5).astype(np.float32), 16000)
    index = load_dataset(root, DatasetOptions(noise_class=True))
    assert index.split_source == "lists"
    assert {c.path.name for c in index.split("val") if c.label != "noise"} == {"spk01_nohash_0.wav"}
    assert "noise" in index.labels and index.noise_files == (noise / "white.wav",)
    assert all(c.offset_s + 1.0 <= 5.0 for c in index.clips if c.label == "noise")


def test_split_csvs_are_used_as_given(tmp_path):
    root = write_tone_dataset(tmp_path / "csv", speakers=3, reps=1)
    for split, spk in (("train", 0), ("val", 1), ("test", 2)):
        rows = [f"{label}/spk{spk:02d}_nohash_0.wav,{label}" for label in ("low", "mid", "high")]
        (root / f"{split}.csv").write_text("file,class\n" + "\n".join(rows) + "\n")
    index = load_dataset(root)
    assert index.split_source == "csv"
    assert index.speakers("test") == {"spk02"} and index.speakers("train") == {"spk00"}


def test_flat_folder_with_label_in_file_name(tmp_path):
    root = tmp_path / "fsdd"
    root.mkdir()
    for digit in range(3):
        for spk in ("jackson", "nicolas", "theo", "yweweler", "george"):
            sf.write(root / f"{digit}_{spk}_0.wav", tone_clip("low", 1, digit, rate=8000, seconds=0.5), 8000)
    index = load_dataset(root)
    assert index.labels == ("0", "1", "2")
    assert _speaker_disjoint(index)


def test_speaker_patterns():
    from pathlib import Path

    assert speaker_of(Path("0a7c2a8d_nohash_0.wav"), DatasetOptions().speaker_patterns) == "0a7c2a8d"
    assert speaker_of(Path("00000030_NO_01.flac"), DatasetOptions().speaker_patterns) == "00000030"
    assert speaker_of(Path("7_jackson_32.wav"), DatasetOptions().speaker_patterns) == "jackson"


def test_keywords_map_others_to_unknown(tone_dataset):
    index = load_dataset(tone_dataset, DatasetOptions(keywords=("low",)))
    assert index.labels == ("low", "unknown")


def test_not_audio_is_skipped_or_fatal_with_strict(tmp_path):
    root = write_tone_dataset(tmp_path / "d", speakers=4, reps=1, labels=("low", "mid"))
    (root / "low" / "notes.txt").write_text("not audio")
    index = load_dataset(root)
    assert [p.name for p, _ in index.skipped] == ["notes.txt"]
    with pytest.raises(DataError, match="notes.txt"):
        load_dataset(root, DatasetOptions(strict=True))


def test_the_strict_error_names_the_field_and_the_cli_its_flag(tmp_path):
    from kwsauto.cli import _in_flags

    root = write_tone_dataset(tmp_path / "d", speakers=4, reps=1, labels=("low", "mid"))
    (root / "low" / "notes.txt").write_text("not audio")
    with pytest.raises(DataError, match="run without `strict` to skip such files") as info:
        load_dataset(root, DatasetOptions(strict=True))
    assert "run without --strict to skip such files" in _in_flags(info.value)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "No audio clips"),
        (lambda p: write_tone_dataset(p / "one", speakers=3, reps=1, labels=("low",)), "Only one class"),
    ],
)
def test_bad_datasets_say_what_and_how(tmp_path, make, match):
    with pytest.raises(DataError, match=match):
        load_dataset(make(tmp_path))


def test_label_with_one_speaker_cannot_be_split(tmp_path):
    root = write_tone_dataset(tmp_path / "d", speakers=4, reps=1, labels=("low", "mid"))
    for path in (root / "mid").iterdir():
        if not path.name.startswith("spk00"):
            path.unlink()
    with pytest.raises(DataError, match="'mid' has 1 speaker"):
        load_dataset(root)


def test_unknown_speaker_pattern_is_an_error(tmp_path):
    root = tmp_path / "d"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        sf.write(root / label / "clip.wav", tone_clip("low", 0, 0), 16000)
    with pytest.raises(DataError, match="`speaker_patterns`"):
        load_dataset(root)
    shutil.rmtree(root)


def test_long_clip_is_cropped_to_its_loudest_second(tmp_path):
    rng = np.random.default_rng(0)
    wave = (0.01 * rng.standard_normal(3 * 16000)).astype(np.float32)
    wave[27000:33000] += 0.5 * np.sin(2 * np.pi * 900 * np.arange(6000) / 16000).astype(np.float32)  # the "word"
    path = tmp_path / "long.wav"
    sf.write(path, wave, 16000, subtype="FLOAT")
    out = read_clip(path, window_samples=16000).numpy()
    start = next(s for s in range(len(wave) - 16000 + 1) if np.array_equal(wave[s : s + 16000], out))
    assert start <= 27000 and 33000 <= start + 16000  # the whole burst is inside the window


def test_speaker_split_is_20_percent_test_then_20_percent_of_the_rest_for_validation(tmp_path):
    root = write_tone_dataset(tmp_path / "ten", speakers=10, reps=1)
    index = load_dataset(root)
    assert (len(index.speakers("test")), len(index.speakers("val")), len(index.speakers("train"))) == (2, 2, 6)
    assert _speaker_disjoint(index)
    wide = load_dataset(root, DatasetOptions(val_fraction=0.5, test_fraction=0.3))
    assert (len(wide.speakers("test")), len(wide.speakers("val")), len(wide.speakers("train"))) == (3, 4, 3)


def test_validation_csv_and_background_noise_folder(tmp_path):
    root = write_tone_dataset(tmp_path / "csv", speakers=3, reps=1)
    for split, name, spk in (("train", "train.csv", 0), ("val", "validation.csv", 1), ("test", "test.csv", 2)):
        rows = [f"{label}/spk{spk:02d}_nohash_0.wav,{label}" for label in ("low", "mid", "high")]
        (root / name).write_text("file,class\n" + "\n".join(rows) + "\n")
    (root / "background_noise").mkdir()
    sf.write(root / "background_noise" / "hum.wav", np.zeros(16000 * 3, dtype=np.float32), 16000)
    index = load_dataset(root)
    assert index.split_source == "csv" and index.speakers("val") == {"spk01"}
    assert index.noise_files == (root / "background_noise" / "hum.wav",)


def test_own_speaker_pattern(tmp_path):
    root = tmp_path / "named"
    for label in ("low", "high"):
        (root / label).mkdir(parents=True)
        for speaker in ("alice", "bob", "carol", "dave", "erin"):
            sf.write(root / label / f"{speaker}-take{label}.wav", tone_clip(label, 1, 0), 16000)
    index = load_dataset(root, DatasetOptions(speaker_patterns=(r"^(?P<speaker>[^-]+)-",)))
    assert set().union(*(index.speakers(s) for s in ("train", "val", "test"))) == {"alice", "bob", "carol", "dave", "erin"}
    assert _speaker_disjoint(index)
