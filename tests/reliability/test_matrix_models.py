"""Hand-edited and foreign model files: .tflite cut short, with flipped bytes, the wrong magic, absurd tensor
dimensions or metadata that does not match the model; ONNX garbage; a pickle in a .pt that must be refused
without running. Each runs the real command in-process and must end in one line, exit 2."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from tests.reliability._matrix import EXECUTED, Case, RunsCode, check_case, no_code_ran, search_args, write
from tests.reliability._tiny import rewrite_tflite, write_tiny_tflite


def _nothing_written(tmp: Path) -> None:
    assert not (tmp / "fw").exists() or not any((tmp / "fw").iterdir()), "firmware files written for a corrupt model"


def _good(tmp: Path) -> Path:
    return write_tiny_tflite(tmp / "good.tflite")


def _edited(tmp: Path, change) -> Path:
    return write(tmp / "bad.tflite", change(_good(tmp).read_bytes()))


def _rewritten(tmp: Path, edit) -> Path:
    return rewrite_tflite(_good(tmp), tmp / "bad.tflite", edit)


def _flip_root_offset(data: bytes) -> bytes:
    return b"\xff\xff\xff\x7f" + data[4:]


def _huge_input(model) -> None:
    graph = model.subgraphs[0]
    graph.tensors[graph.inputs[0]].shape = [1, 10**9, 10**9, 1]


def _huge_weights(model) -> None:
    max(model.subgraphs[0].tensors, key=lambda t: len(t.shape)).shape = [2**30, 2**30, 8, 8]


def _wav(data: Path) -> Path:
    return next(data.rglob("*.wav"))


def _pickle(tmp: Path) -> Path:
    return write(tmp / "evil.pt", pickle.dumps({"encoder.0.weight": RunsCode(tmp / EXECUTED)}))


def _cut_torch_file(tmp: Path) -> Path:
    import torch

    torch.save({"w": torch.zeros(3)}, tmp / "whole.pt")
    return write(tmp / "cut.pt", (tmp / "whole.pt").read_bytes()[:50])


CASES = [
    Case("tflite cut short: profile", lambda t, d: ["profile", _edited(t, lambda b: b[: len(b) // 2])], "is a corrupt TFLite model"),
    Case("tflite cut short: predict", lambda t, d: ["predict", _edited(t, lambda b: b[: len(b) // 2]), _wav(d)],
         "is a corrupt TFLite model"),
    Case("tflite cut short: firmware", lambda t, d: ["firmware", _edited(t, lambda b: b[: len(b) // 3]), "--out", t / "fw"],
         "is a corrupt TFLite model", after=_nothing_written),
    Case("tflite flipped bytes: summary", lambda t, d: ["summary", _edited(t, _flip_root_offset)], "is a corrupt TFLite model"),
    Case("tflite flipped bytes: predict", lambda t, d: ["predict", _edited(t, _flip_root_offset), _wav(d)],
         "is a corrupt TFLite model"),
    Case("tflite wrong magic", lambda t, d: ["profile", _edited(t, lambda b: b[:4] + b"XXXX" + b[8:])],
         "no TFL3 file identifier"),
    Case("tflite empty file", lambda t, d: ["summary", write(t / "empty.tflite", b"")], "no TFL3 file identifier"),
    Case("tflite huge input dims: summary", lambda t, d: ["summary", _rewritten(t, _huge_input)],
         "has shape [1, 1000000000, 1000000000, 1]"),
    Case("tflite huge input dims: predict", lambda t, d: ["predict", _rewritten(t, _huge_input), _wav(d)],
         "more than 268,435,456 elements"),
    Case("tflite huge weight dims: profile", lambda t, d: ["profile", _rewritten(t, _huge_weights)],
         "more than 268,435,456 elements"),
    Case("tflite metadata does not match its input", lambda t, d: ["predict", write_tiny_tflite(t / "m.tflite", (1, 40, 10)), _wav(d)],
         "its metadata does not match the model"),
    Case("model with another suffix", lambda t, d: ["predict", write(t / "m.bin", _good(t).read_bytes()), _wav(d)],
         "is not a .tflite or .onnx model"),
    Case("model path is a folder", lambda t, d: ["profile", (t / "folder").mkdir() or t / "folder"],
         "is not a run folder (no run.json)"),
    Case("onnx garbage", lambda t, d: ["predict", write(t / "m.onnx", b"garbage" * 10), _wav(d)],
         "is not a readable ONNX model"),
    Case("onnx empty", lambda t, d: ["predict", write(t / "m.onnx", b""), _wav(d)], "is not a readable ONNX model"),
    Case("--pretrained pickle that would run code", lambda t, d: search_args(t, d, "--pretrained", str(_pickle(t))),
         "refuses to run", after=no_code_ran),
    Case("train --pretrained pickle that would run code", lambda t, d: ["train", d, "--pretrained", _pickle(t)],
         "refuses to run", after=no_code_ran),
    Case("--pretrained torch file cut short", lambda t, d: search_args(t, d, "--pretrained", str(_cut_torch_file(t))),
         "is not a readable torch weights file"),
    Case("--pretrained safetensors garbage", lambda t, d: search_args(
        t, d, "--pretrained", str(write(t / "g.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage"))),
         "is not a readable safetensors or torch weights file"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hand_edited_models(case, small_data, tmp_path, capsys):
    check_case(case, small_data, tmp_path, capsys)
