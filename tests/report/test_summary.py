import io
import json

import pytest
from rich.console import Console

from kwsauto.errors import KwsautoError
from kwsauto.evaluate import summarize
from kwsauto.report import summary_table


def _render(renderable) -> str:
    out = io.StringIO()
    Console(file=out, width=120).print(renderable)
    return out.getvalue()


def test_summary_of_the_chosen_model_marks_the_peak(tiny_run):
    card = json.loads((tiny_run / "best" / "card.json").read_text())
    summary = summarize(tiny_run)
    f = summary.footprint
    assert summary.name == f"trial {card['trial']}" and f.device == "cortex-m4f-80mhz"
    assert sum(r.params for r in summary.layers) == f.params == card["footprint"]["params"]
    assert sum(r.macs for r in summary.layers) == f.macs == card["footprint"]["macs"]
    assert summary.layers[0].op == "CONV_2D" and summary.layers[-1].op == "SOFTMAX"
    assert summary.layers[-1].output_shape == (1, len(card["labels"]))
    for row in summary.layers:
        assert row.activation_bytes == _prod(row.output_shape) and row.live_bytes >= row.activation_bytes
    peak = summary.peak_layers
    assert peak and len(peak) < len(summary.layers)
    # the planner can do no better than the largest set of tensors alive at once, and reaches its top at the peak
    assert f.activation_bytes >= max(r.live_bytes for r in summary.layers)
    text = _render(summary_table(summary))
    assert text.count("◀") == len(peak) + 1 and "M MACs" in text  # each peak layer, and the caption's legend


def _prod(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def test_the_tflite_reads_back_as_the_traced_graph(tiny_run):
    traced = summarize(tiny_run)
    read = summarize(tiny_run / "best" / "model_int8.tflite")
    assert [(r.op, r.output_shape, r.params, r.macs) for r in read.layers] == [
        (r.op, r.output_shape, r.params, r.macs) for r in traced.layers
    ]
    assert [r.peak for r in read.layers] == [r.peak for r in traced.layers]


def test_summary_of_an_untrained_trial_and_another_device(tiny_run):
    rows = json.loads((tiny_run / "leaderboard.json").read_text())
    number = next(r["number"] for r in rows if r["state"] == "infeasible")
    summary = summarize(tiny_run, trial=number, device="cortex-m7-216mhz")
    assert summary.footprint.device == "cortex-m7-216mhz" and summary.peak_layers
    assert summary.footprint.ram_bytes > 48 * 1024  # why it was not trained
    assert any("not trained" in n for n in summary.notes)


def test_summary_bad_inputs(tiny_run, tmp_path):
    onnx_alone = tmp_path / "m.onnx"
    onnx_alone.write_bytes((tiny_run / "best" / "model.onnx").read_bytes())
    for target, kwargs, message in (
        (onnx_alone, {}, "has no int8 .tflite"),
        (tmp_path / "missing.tflite", {}, "does not exist"),
        (tiny_run, {"device": "cortex-m5"}, "Unknown device"),
        (tiny_run / "best" / "model_int8.tflite", {"trial": 1}, "needs a run folder"),
    ):
        with pytest.raises(KwsautoError, match=message) as info:
            summarize(target, **kwargs)
        assert "\n" not in str(info.value)
