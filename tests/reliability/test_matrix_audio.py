"""Bad and unusual audio, each file three ways: ``kwsauto predict`` decodes it (exit 0) or names it (exit 2); the
dataset index keeps it or names and skips it; ``search --strict`` refuses a skipped one before anything trains."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.reliability._matrix import Case, check_case, search_args, write
from tests.reliability._tiny import write_tiny_tflite

WAVE = (0.3 * np.sin(np.arange(16000) / 5)).astype(np.float32)  # 1 s at 16 kHz


@dataclass(frozen=True)
class Audio:
    """``make(path)`` writes the file at ``path``; ``refused`` is the reason a usable clip would not have."""

    name: str
    make: Callable[[Path], object]
    refused: str | None = None  # in predict's one-line error and the index's skip reason; None: decoded
    skipped: str | None = None  # the index's reason when it words it otherwise


def _cut(path: Path, keep: int) -> None:
    sf.write(path, WAVE, 16000)
    path.write_bytes(path.read_bytes()[:keep])


AUDIO = [
    Audio("empty file", lambda p: p.write_bytes(b""), "Format not recognised", "not readable audio"),
    Audio("zero frames", lambda p: sf.write(p, np.zeros(0, np.float32), 16000), "holds no samples", "empty audio"),
    Audio("header cut short", lambda p: _cut(p, 20), "Malformed 'fmt ' chunk", "not readable audio"),
    Audio("text named .wav", lambda p: p.write_text("not audio\n"), "Format not recognised", "not readable audio"),
    Audio("directory named .wav", lambda p: p.mkdir(), "is a folder"),
    Audio("symlink loop", lambda p: os.symlink(p, p), "is a broken link", "broken or looping symbolic link"),
    Audio("dangling symlink", lambda p: os.symlink(p.parent / "gone.wav", p), "is a broken link",
          "broken or looping symbolic link"),
    Audio("data cut short (held)", lambda p: _cut(p, 1000)),
    Audio("8-bit (held)", lambda p: sf.write(p, WAVE, 16000, subtype="PCM_U8")),
    Audio("24-bit (held)", lambda p: sf.write(p, WAVE, 16000, subtype="PCM_24")),
    Audio("float (held)", lambda p: sf.write(p, WAVE, 16000, subtype="FLOAT")),
    Audio("stereo (held)", lambda p: sf.write(p, np.stack([WAVE, -WAVE], axis=1), 16000)),
    Audio("8 kHz (held)", lambda p: sf.write(p, WAVE[::2], 8000)),
    Audio("48 kHz (held)", lambda p: sf.write(p, np.repeat(WAVE, 3), 48000)),
    Audio("mp3 (held)", lambda p: sf.write(p.with_suffix(".mp3"), WAVE, 16000, format="MP3")),
    Audio("flac (held)", lambda p: sf.write(p.with_suffix(".flac"), WAVE, 16000)),
    Audio("ogg (held)", lambda p: sf.write(p.with_suffix(".ogg"), WAVE, 16000, subtype="VORBIS")),
    Audio("very long name (held)", lambda p: sf.write(p.with_name("s" * 200 + "_nohash_0.wav"), WAVE, 16000)),
    Audio("unicode and markup name (held)", lambda p: sf.write(p.with_name("ünï词[bold]_nohash_0.wav"), WAVE, 16000)),
]
REFUSED = [a for a in AUDIO if a.refused and a.name != "directory named .wav"]  # a folder is walked, not a clip


def _placed(audio: Audio, folder: Path) -> Path:
    """``audio``'s file written into ``folder`` under a Speech Commands name; the path it got."""
    target = folder / "spk09_nohash_0.wav"
    before = set(folder.iterdir())
    audio.make(target)
    (made,) = set(folder.iterdir()) - before
    return made


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return write_tiny_tflite(tmp_path_factory.mktemp("audio") / "m.tflite")


@pytest.mark.parametrize("audio", AUDIO, ids=[a.name for a in AUDIO])
def test_predict(audio, tiny_model, tmp_path, capsys):
    def setup(tmp: Path, data: Path) -> list:
        return ["predict", tiny_model, _placed(audio, write(tmp / "in" / "x", "").parent)]

    held = Case(audio.name, setup, "Predictions", code=0)
    refused = Case(audio.name, setup, audio.refused or "")
    check_case(refused if audio.refused else held, tmp_path, tmp_path, capsys)


@pytest.mark.parametrize("audio", AUDIO, ids=[a.name for a in AUDIO])
def test_dataset_index_keeps_or_names_and_skips(audio, small_data, tmp_path, caplog):
    from kwsauto.data import load_dataset

    root = tmp_path / "data"
    shutil.copytree(small_data, root)
    path = _placed(audio, root / "low")
    with caplog.at_level(logging.WARNING):
        index = load_dataset(root)
    reasons = dict(index.skipped)
    if audio.refused is None:
        assert path in {c.path for c in index.clips} and not reasons, reasons
    elif path.is_dir():
        assert path not in {c.path for c in index.clips} and not reasons  # walked for files, none inside
    else:
        assert path not in {c.path for c in index.clips}
        assert (audio.skipped or audio.refused) in reasons[path] and str(path) in caplog.text


@pytest.mark.parametrize("audio", REFUSED, ids=[a.name for a in REFUSED])
def test_search_strict_names_the_file_before_training(audio, small_data, tmp_path, capsys):
    def setup(tmp: Path, data: Path) -> list:
        root = tmp / "data"
        shutil.copytree(data, root)
        _placed(audio, root / "low")
        return search_args(tmp, root, "--strict")

    check_case(Case(audio.name, setup, "spk09_nohash_0.wav"), small_data, tmp_path, capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its permissions")
def test_an_unreadable_file_is_named(tiny_model, small_data, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(small_data, root)
    locked = root / "low" / "spk00_nohash_0.wav"
    locked.chmod(0)
    check_case(Case("unreadable", lambda t, d: ["predict", tiny_model, locked], "Permission denied"),
               small_data, tmp_path, capsys)
    check_case(Case("unreadable", lambda t, d: search_args(t, root, "--strict"), "spk00_nohash_0.wav"),
               small_data, tmp_path, capsys)
