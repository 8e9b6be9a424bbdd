"""The fault and bad-input matrix: each case runs the real ``kwsauto`` command in-process and checks the exit code,
that stderr is one line naming the value and the fix (no traceback), and what is on disk afterwards.

Every case fails before training, so the whole matrix takes seconds; interrupts and kills are in test_signals.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kwsauto.search import RunFolder, open_study
from tests.reliability._matrix import (
    PASSWORD,
    SPACE,
    Case,
    check_case,
    csv_dataset,
    run_folder,
    search_args,
    write,
)
from tests.reliability._tiny import rewrite_tflite, write_tiny_tflite


def _alias_bomb(key: str) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(lines) + f"\n{key}"


def _enqueue(tmp: Path, data: Path, content: str | bytes) -> list[str]:
    return [*search_args(tmp, data, "--enqueue", str(write(tmp / "seeds.yaml", content))),
            "--space", str(write(tmp / "s.yaml", SPACE.replace("width: 0.25", "width: {choices: [0.25, 0.5]}")))]


def _damaged_journal(tmp: Path) -> Path:
    run = run_folder(tmp)
    study = open_study(RunFolder(run), "s")
    study.enqueue_trial({"x": 1.0})
    lines = (run / "study.journal").read_bytes().splitlines(keepends=True)
    (run / "study.journal").write_bytes(lines[0] + b'{"op_code": 4, "stu\n' + b"".join(lines[1:]))
    return run


def _tflite(tmp: Path, edit=None) -> Path:
    good = write_tiny_tflite(tmp / "good.tflite")
    return good if edit is None else rewrite_tflite(good, tmp / "bad.tflite", edit)


def _set(obj, attr, value):
    setattr(obj, attr, value)


def _cut_weights(model) -> None:
    graph = model.subgraphs[0]
    weights = next(t for t in graph.tensors if model.buffers[t.buffer].data is not None and len(t.shape) == 4)
    buffer = model.buffers[weights.buffer]
    buffer.data = buffer.data[: len(buffer.data) // 2]


def _nested_clips(tmp: Path, data: Path) -> list[str]:
    shutil.copytree(data, tmp / "fsdd" / "recordings")
    flat = tmp / "fsdd" / "recordings"
    for folder in [p for p in flat.iterdir() if p.is_dir()]:  # FSDD: one flat folder, LABEL_SPEAKER_N.wav
        for n, wav in enumerate(sorted(folder.glob("*.wav"))):
            wav.rename(flat / f"{folder.name}_{wav.stem.split('_')[0]}_{n}.wav")
        folder.rmdir()
    return search_args(tmp, tmp / "fsdd")


def _nan_clip(tmp: Path, data: Path) -> list[str]:
    root = tmp / "nan"
    shutil.copytree(data, root)
    wave = np.full(16000, 0.1, dtype=np.float32)
    wave[100] = np.nan
    sf.write(root / "low" / "spk09_nohash_0.wav", wave, 16000, subtype="FLOAT")
    return [*search_args(tmp, root), "--strict"]


CASES = [
    # search spaces and training configs
    Case("space: epochs is not a number", lambda t, d: search_args(t, d, space="train: {epochs: abc}\n"), "'epochs' must be an integer"),
    Case("space: batch_size is a list", lambda t, d: search_args(t, d, space="train: {batch_size: [1, 2]}\n"), "'batch_size' must be an integer"),
    Case("space: a section is not a mapping", lambda t, d: search_args(t, d, space="train: 5\n"), "must be a mapping"),
    Case("space: not UTF-8", lambda t, d: search_args(t, d, "--space", str(write(t / "b.yaml", b"train: {epochs: \xff}\n"))), "not UTF-8"),
    Case("space: alias bomb under a known key", lambda t, d: search_args(t, d, space=_alias_bomb("train: {epochs: *a8}")), "expands to more than"),
    Case("space: unknown key (held)", lambda t, d: search_args(t, d, space="train: {epoch: 3}\n"), "did you mean 'epochs'"),
    Case("space: unknown built-in (held)", lambda t, d: ["search", str(d), "--space", "quik", "--out", str(t / "run")], "did you mean 'quick'"),
    Case("train config: not UTF-8", lambda t, d: ["train", str(d), "--config", str(write(t / "c.yaml", b"\xfe\xff"))], "not UTF-8"),
    Case("train config: wrong type", lambda t, d: ["train", str(d), "--config", str(write(t / "c.yaml", "model: {width: wide}\n"))], "'width' must be a number"),
    # enqueue files
    Case("enqueue: value of the wrong type", lambda t, d: _enqueue(t, d, "- {model.width: [1, 2]}\n"), "model.width=[1, 2] is not one of"),
    Case("enqueue: not UTF-8", lambda t, d: _enqueue(t, d, b"- {model.width: \xff}\n"), "not UTF-8"),
    Case("enqueue: alias bomb", lambda t, d: _enqueue(t, d, _alias_bomb("x: *a8")), "expands to more than"),
    Case("enqueue: unknown parameter (held)", lambda t, d: _enqueue(t, d, "- {model.widht: 0.5}\n"), "did you mean 'model.width'"),
    # options
    Case("--budget 0", lambda t, d: search_args(t, d, "--budget", "0"), "--budget size must be positive"),
    Case("--budget without a number (held)", lambda t, d: search_args(t, d, "--budget", "lots"), "Cannot read --budget size 'lots'"),
    Case("--latency nan", lambda t, d: search_args(t, d, "--latency", "nan"), "--latency must be a positive finite"),
    Case("--latency inf", lambda t, d: search_args(t, d, "--latency", "inf"), "--latency must be a positive finite"),
    Case("--time-limit 0", lambda t, d: search_args(t, d, "--time-limit", "0"), "--time-limit duration must be positive"),
    Case("--workers 0 (held)", lambda t, d: search_args(t, d, "--workers", "0"), "--workers must be at least 1"),
    Case("--trials 0 (held)", lambda t, d: search_args(t, d, "--trials", "0"), "--trials must be at least 1"),
    Case("--sampler typo (held)", lambda t, d: search_args(t, d, "--sampler", "tpee"), "did you mean 'tpe'"),
    Case("--device typo (held)", lambda t, d: search_args(t, d, "--device", "cortex-m4"), "cortex-m4"),
    Case("--pretrained state dict of another model", lambda t, d: search_args(t, d, "--pretrained", str(_foreign_state_dict(t))), "not a backbone of this architecture"),
    Case("--pretrained missing file (held)", lambda t, d: search_args(t, d, "--pretrained", str(t / "none.safetensors")), "none.safetensors"),
    # secrets
    Case("storage: password without a user", lambda t, d: search_args(t, d, "--storage", f"postgresql://:{PASSWORD}@127.0.0.1:1/db"), "Cannot open storage"),
    Case("storage: password with @ and :", lambda t, d: search_args(t, d, "--storage", f"postgresql://u:{PASSWORD}@x:y@127.0.0.1:1/db"), "Cannot open storage"),
    Case("storage: password in the query", lambda t, d: search_args(t, d, "--storage", f"postgresql://127.0.0.1:1/db?password={PASSWORD}"), "Cannot open storage"),
    # data
    Case("data path with Rich markup", lambda t, d: search_args(t, t / "no[/x]where"), "no[/x]where does not exist"),
    Case("data: a file, not a folder (held)", lambda t, d: search_args(t, write(t / "clip.wav", b"x")), "is not a folder"),
    Case("split CSV: path outside the folder", lambda t, d: search_args(t, csv_dataset(t, d, "../../etc/hostname,low\n")), "outside the dataset folder"),
    Case("split CSV: absolute path", lambda t, d: search_args(t, csv_dataset(t, d, "/etc/hostname,low\n")), "outside the dataset folder"),
    Case("split CSV: one clip in train and test", lambda t, d: search_args(t, csv_dataset(t, d, test_rows="low/spk00_nohash_0.wav,low")), "holds the same audio as"),
    Case("split CSV: row without a class", lambda t, d: search_args(t, csv_dataset(t, d, "low/spk00_nohash_1.wav\n")), "has no file or no class"),
    Case("split CSV: not UTF-8", lambda t, d: search_args(t, write(csv_dataset(t, d) / "train.csv", b"file,class\n\xff,x\n").parent), "not a readable UTF-8 CSV"),
    Case("NaN samples with --strict", _nan_clip, "NaN or infinite samples"),
    Case("clips one folder down", _nested_clips, "give that folder instead"),
    # run folders and model files
    Case("leaderboard: run.json not JSON", lambda t, d: ["leaderboard", str(run_folder(t, run_json=b"{\"study\": "))], "cannot be read"),
    Case("leaderboard: run.json not UTF-8", lambda t, d: ["leaderboard", str(run_folder(t, run_json=b"\xff\xfe"))], "cannot be read"),
    Case("leaderboard: run.json a list", lambda t, d: ["leaderboard", str(run_folder(t, run_json=b"[1]"))], "not an object"),
    Case("leaderboard: card.json cut short", lambda t, d: ["leaderboard", str(run_folder(t, card=b"{\"trial\": 0, \"met"))], "cannot be read"),
    Case("leaderboard: run.json without a study", lambda t, d: ["leaderboard", str(run_folder(t, run_json=b"{}"))], "missing 'data', 'study'"),
    Case("leaderboard: journal damaged mid-file", lambda t, d: ["leaderboard", str(_damaged_journal(t))], "is damaged"),
    Case("report: run.json cut short", lambda t, d: ["report", str(run_folder(t, run_json=b"{\"stu"))], "cannot be read"),
    Case("summary: card.json not UTF-8", lambda t, d: ["summary", str(run_folder(t, card=b"\xff"))], "no finished trial"),  # a run is resolved through its study, not its card
    Case("leaderboard: not a run (held)", lambda t, d: ["leaderboard", str(t)], "no run.json"),
    Case("benchmark: card.json cut short", lambda t, d: ["benchmark", str(_tflite(t)), "--repeats", "1"] if write(t / "card.json", b"{\"labels\": [") else [], "cannot be read"),
    Case("profile: op code index out of range", lambda t, d: ["profile", str(_tflite(t, lambda m: _set(m.subgraphs[0].operators[0], "opcodeIndex", 99)))], "op code index 99"),
    Case("profile: tensor index out of range", lambda t, d: ["profile", str(_tflite(t, lambda m: _set(m.subgraphs[0].operators[0], "outputs", [9999])))], "tensor index 9999"),
    Case("summary: tensor index out of range", lambda t, d: ["summary", str(_tflite(t, lambda m: _set(m.subgraphs[0], "inputs", [-5])))], "tensor index -5"),
    Case("profile: weights cut short", lambda t, d: ["profile", str(_tflite(t, _cut_weights))], "cut short"),
    Case("profile: not a TFLite file (held)", lambda t, d: ["profile", str(write(t / "x.tflite", b"0" * 64))], "not a TFLite model"),
    Case("predict: NaN audio", lambda t, d: ["predict", str(_tflite(t)), str(_nan_wav(t))], "NaN or infinite samples"),
]


def _foreign_state_dict(tmp: Path) -> Path:
    import torch

    torch.save({"encoder.0.weight": torch.zeros(8, 1, 3, 3), "encoder.0.bias": torch.zeros(8)}, tmp / "other.pt")
    return tmp / "other.pt"


def _nan_wav(tmp: Path) -> Path:
    wave = np.zeros(16000, dtype=np.float32)
    wave[5] = np.inf
    sf.write(tmp / "nan.wav", wave, 16000, subtype="FLOAT")
    return tmp / "nan.wav"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_and_exit_2(case, small_data, tmp_path, capsys):
    check_case(case, small_data, tmp_path, capsys)


def test_rich_markup_in_labels_is_printed_as_text():
    import io

    from rich.console import Console

    from kwsauto.report import class_metrics_table, confusion_table

    metrics = {"per_class": {"[bold]x": {"precision": 1, "recall": 1, "f1": 1, "support": 1},
                             "[/]": {"precision": 1, "recall": 1, "f1": 1, "support": 1}},
               "accuracy": 1.0, "macro_f1": 1.0}
    console = Console(file=io.StringIO(), width=100)
    console.print(class_metrics_table(metrics["per_class"], metrics["accuracy"], metrics["macro_f1"]))
    console.print(confusion_table(["[bold]x", "[/]"], [[1, 0], [0, 1]]))
    text = console.file.getvalue()
    assert "[bold]x" in text and "[/]" in text


def test_workers_are_capped_at_the_cores(caplog):
    import os

    from kwsauto.search import SearchSettings
    from kwsauto.search._study import _cap_workers

    cores = len(os.sched_getaffinity(0))
    with caplog.at_level("WARNING"):
        capped = _cap_workers(SearchSettings(workers=100))
    assert capped.workers == cores and f"--workers 100 is more than the {cores} CPU cores" in caplog.text
    assert _cap_workers(SearchSettings(workers=1)).workers == 1


def test_nan_audio_is_named_and_skipped_without_strict(small_data, tmp_path, caplog):
    from kwsauto.data import load_dataset

    root = tmp_path / "nan"
    shutil.copytree(small_data, root)
    bad = root / "low" / "spk09_nohash_0.wav"
    sf.write(bad, np.array([0.1, np.nan] * 8000, dtype=np.float32), 16000, subtype="FLOAT")
    with caplog.at_level("WARNING"):
        index = load_dataset(root)
    assert bad not in {c.path for c in index.clips} and str(bad) in caplog.text and "NaN" in caplog.text


def test_a_long_file_is_read_around_its_loudest_window_only(tmp_path):
    import tracemalloc

    from kwsauto.data import read_clip

    rate, minutes = 16000, 10
    wave = np.zeros(rate * 60 * minutes, dtype=np.float32)  # 10 minutes of silence, one word in the middle
    wave[rate * 300 : rate * 300 + 8000] = 0.5 * np.sin(np.arange(8000) / 4)
    sf.write(tmp_path / "long.wav", wave, rate, subtype="PCM_16")
    del wave
    tracemalloc.start()
    clip = read_clip(tmp_path / "long.wav", sample_rate_hz=rate, window_samples=rate)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 1024**2  # the whole file would be 38 MB as float32
    assert float((clip != 0).float().sum()) >= 7900  # the word is inside the window
