"""The built-in demo dataset: layout, audio format, speakers, determinism, caching and atomicity."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import kwsauto.data.demo as demo
from kwsauto.data.demo import DEMO_KEYWORDS, DemoUnavailableError, default_cache_dir, ensure_demo_dataset

N_VOICES = 6
LABELS = {*DEMO_KEYWORDS, "unknown", "noise"}
NAME = re.compile(r"^(?P<speaker>[^_]+)_nohash_(?P<n>\d+)\.wav$")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("espeakng_loader")
    return ensure_demo_dataset(tmp_path_factory.mktemp("cache"), n_voices=N_VOICES, seed=0)


def test_layout(dataset: Path) -> None:
    assert dataset.name == "demo-v2"
    assert {p.name for p in dataset.iterdir() if p.is_dir()} == LABELS
    assert sorted(p.name for p in dataset.parent.iterdir()) == ["demo-v2"]  # no temporary folder left
    for label in LABELS:
        names = [p.name for p in (dataset / label).iterdir()]
        assert names, label
        assert all(NAME.match(name) for name in names), names


def test_every_clip_is_one_second_of_16k_mono_pcm16(dataset: Path) -> None:
    wavs = sorted(dataset.rglob("*.wav"))
    assert len(wavs) >= N_VOICES * 5 * 2 + 10  # 2-3 clips of 5 words per voice, and noise
    for path in wavs:
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, 16000), path
        assert info.subtype == "PCM_16", path


def test_speech_clips_hold_a_word_above_the_noise_floor(dataset: Path) -> None:
    for label in (*DEMO_KEYWORDS, "unknown"):
        for path in sorted((dataset / label).glob("*.wav")):
            x, _ = sf.read(str(path), dtype="float32")
            frames = np.sqrt(np.mean(x.reshape(100, 160) ** 2, axis=1))  # 10 ms frames
            assert np.sqrt(np.mean(x**2)) > 3e-3, path
            floor = np.percentile(frames, 10)  # the low background noise around the word
            assert 0 < floor and frames.max() > 10 * floor, path
    for path in sorted((dataset / "noise").glob("*.wav")):
        x, _ = sf.read(str(path), dtype="float32")
        assert np.sqrt(np.mean(x**2)) > 1e-3, path
        assert np.abs(x).max() < 1.0, path


def test_each_voice_says_each_word_a_few_times(dataset: Path) -> None:
    voices = {f"v{i:03d}" for i in range(N_VOICES)}
    for label in (*DEMO_KEYWORDS, "unknown"):
        speakers = [NAME.match(p.name)["speaker"] for p in (dataset / label).glob("*.wav")]
        assert set(speakers) == voices, label
        assert all(2 <= speakers.count(s) <= 3 for s in voices), label
    sources = {NAME.match(p.name)["speaker"] for p in (dataset / "noise").glob("*.wav")}
    assert len(sources) >= 2 and all(re.fullmatch(r"n\d{3}", s) for s in sources)


def test_manifest_counts_the_files(dataset: Path) -> None:
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["counts"] == {label: len(list((dataset / label).glob("*.wav"))) for label in LABELS}
    assert (manifest["seed"], manifest["n_voices"], manifest["sample_rate"]) == (0, N_VOICES, 16000)
    assert [v["speaker"] for v in manifest["voices"]] == [f"v{i:03d}" for i in range(N_VOICES)]


def test_same_seed_same_bytes_other_seed_other_audio(dataset: Path, tmp_path: Path) -> None:
    again = ensure_demo_dataset(tmp_path / "a", n_voices=N_VOICES, seed=0)
    assert _files(again) == _files(dataset)
    other = _files(ensure_demo_dataset(tmp_path / "b", n_voices=N_VOICES, seed=1))
    assert other["yes/v000_nohash_0.wav"] != _files(dataset)["yes/v000_nohash_0.wav"]


def test_second_call_reuses_the_folder(dataset: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in dataset.rglob("*")}
    assert ensure_demo_dataset(dataset.parent, n_voices=N_VOICES + 1, seed=5) == dataset
    assert {p: p.stat().st_mtime_ns for p in dataset.rglob("*")} == before


def test_failed_generation_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("espeakng_loader")
    written = []

    def failing_write(path: Path, clip: np.ndarray) -> None:
        written.append(path)
        if len(written) > 10:
            raise KeyboardInterrupt

    monkeypatch.setattr(demo, "_write", failing_write)
    with pytest.raises(KeyboardInterrupt):
        ensure_demo_dataset(tmp_path, n_voices=2)
    assert list(tmp_path.iterdir()) == []


def test_losing_a_race_uses_the_winners_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("espeakng_loader")
    generate = demo._generate

    def generate_while_another_process_wins(out: Path, *args: object) -> dict:
        manifest = generate(out, *args)
        winner = tmp_path / "demo-v2"
        shutil.copytree(out, winner)
        (winner / "manifest.json").write_text(json.dumps({**manifest, "winner": True}))
        return manifest

    monkeypatch.setattr(demo, "_generate", generate_while_another_process_wins)
    folder = ensure_demo_dataset(tmp_path, n_voices=2)
    assert folder == tmp_path / "demo-v2"
    assert json.loads((folder / "manifest.json").read_text())["winner"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-v2"]


def test_missing_espeak_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # makes the import fail
    with pytest.raises(DemoUnavailableError, match=r"pip install 'kwsauto\[demo\]'"):
        ensure_demo_dataset(tmp_path)
    assert issubclass(DemoUnavailableError, RuntimeError)
    assert not (tmp_path / "demo-v2").exists()


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KWSAUTO_CACHE", str(tmp_path / "k"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "k"
    monkeypatch.delenv("KWSAUTO_CACHE")
    assert default_cache_dir() == tmp_path / "x" / "kwsauto"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "kwsauto"
