"""`kwsauto calibrate`, `kwsauto stream` and `kwsauto report` on the tiny real search; bad input is one line, exit 2,
nothing written."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from rich.console import Console

from kwsauto.cli import main
from kwsauto.search import ModelCard
from tests.conftest import tone_clip


def _run(*argv) -> tuple[int, str]:
    out = io.StringIO()
    code = main([str(a) for a in argv], console=Console(file=out, width=150))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def calibrated(tiny_run, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("calibrated") / "run"
    shutil.copytree(tiny_run, run)
    code, out = _run("calibrate", run, "--max-keywords", "6", "--target-far", "1000")
    assert code == 0, out
    assert "Calibration sweep" in out and "Chosen:" in out
    return run


def test_calibration_is_stored_in_the_card_header_and_plot(calibrated):
    best = calibrated / "best"
    card = ModelCard.read(best / "card.json")
    streaming = card.streaming
    assert streaming is not None and streaming.target_far_per_hour == 1000
    assert streaming.validation.far_per_hour <= 1000 and streaming.validation.keywords == 6
    assert streaming.test.keywords == 6 and streaming.test.hours > 0
    header = (best / "kws_postprocess.h").read_text()
    s = streaming.settings
    assert f"#define KWS_PP_AVERAGE_HOPS {s.average_hops}" in header
    assert f"#define KWS_PP_THRESHOLD {float(s.threshold)!r}" in header
    assert (best / "calibration.png").read_bytes()[:4] == b"\x89PNG"
    assert card.files["calibration_plot"] == "calibration.png"


def test_stream_uses_the_calibrated_setting_and_writes_the_json(calibrated, tmp_path):
    audio = tmp_path / "long.wav"
    silence = np.zeros(12000, np.float32)
    sf.write(audio, np.concatenate([silence, tone_clip("high", 1, 0), silence, tone_clip("low", 2, 0), silence]),
             16000, subtype="PCM_16")
    report = tmp_path / "out.json"
    code, out = _run("stream", calibrated, audio, "--json", report)
    assert code == 0, out
    assert "Detections · long.wav" in out and "card setting" in out and "real-time factor" in out
    data = json.loads(report.read_text())
    settings = ModelCard.read(calibrated / "best" / "card.json").streaming.settings
    assert data["settings"] == {"hop_ms": settings.hop_ms, "average_ms": settings.average_ms,
                                "threshold": settings.threshold, "suppression_ms": settings.suppression_ms,
                                "source": "card"}
    assert all(set(d) == {"time_s", "label", "score"} for d in data["detections"])
    code, out = _run("stream", calibrated, audio, "--threshold", "0.3", "--average-ms", "100", "--json", report)
    data = json.loads(report.read_text())
    assert code == 0 and data["settings"]["source"] == "card + options" and data["detections"]
    assert {d["label"] for d in data["detections"]} <= {"low", "mid", "high"}


def test_report_shows_the_streaming_section(calibrated, tmp_path):
    code, out = _run("report", calibrated, "--out", tmp_path)
    assert code == 0, out
    assert "Streaming: average" in out
    assert "streaming" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("case", ["short", "unreadable", "no labels"])
def test_bad_input_is_one_line_exit_2(case, tiny_run, tmp_path, capsys):
    model = tiny_run / "best" / "model_int8.tflite"
    audio = tmp_path / "a.wav"
    if case == "short":
        sf.write(audio, np.zeros(4000, np.float32), 16000)
        expected = "shorter than one 1 s window"
    elif case == "unreadable":
        audio.write_bytes(b"not audio at all")
        expected = "Cannot read audio file"
    else:
        sf.write(audio, np.zeros(32000, np.float32), 16000)
        model = _model_without_labels(tmp_path)
        expected = "carries no labels"
    code = main(["stream", str(model), str(audio)], console=Console(file=io.StringIO()))
    err = capsys.readouterr().err.strip()
    assert code == 2 and expected in err and len(err.splitlines()) == 1, err


def test_a_target_nobody_meets_names_the_closest_and_writes_nothing(calibrated, monkeypatch, capsys):
    import kwsauto._streaming_api as api

    best = calibrated / "best"
    before = {p.name: p.read_bytes() for p in best.iterdir()}
    real = api.choose_setting
    monkeypatch.setattr(api, "choose_setting", lambda rows, target: real(rows, -1.0))  # no FAR/h is below zero
    code = main(["calibrate", str(calibrated), "--max-keywords", "3"], console=Console(file=io.StringIO()))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "No setting reaches --target-far -1" in err and "closest: average" in err
    assert {p.name: p.read_bytes() for p in best.iterdir()} == before


def _model_without_labels(folder: Path) -> Path:
    import torch

    from kwsauto.export import quantize_graph, trace_int8_graph, write_tflite
    from kwsauto.features import FeatureConfig
    from kwsauto.models import ModelSpec, create_model

    features = FeatureConfig(kind="mfe", frame_stride_s=0.02)
    torch.manual_seed(0)
    net = create_model(ModelSpec("dscnn", 0.25, head_units=0, dropout=0.0), 3, features.shape).eval()
    qgraph = quantize_graph(net, trace_int8_graph(net, features.shape), torch.rand(4, *features.shape))
    return write_tflite(qgraph, folder / "model_int8.tflite", labels=[], feature_params=features.to_dict())
