import io
import json

import pytest
from rich.console import Console

from kwsauto.device import Budget, list_devices
from kwsauto.errors import ConfigError
from kwsauto.evaluate._benchmark import benchmark
from kwsauto.evaluate._benchmark_results import VARIANTS, write_benchmark_json
from kwsauto.report._benchmark_tables import benchmark_view

FAST = {"repeats": 3, "warmup": 1}


def _render(renderable) -> str:
    out = io.StringIO()
    Console(file=out, width=120).print(renderable)
    return out.getvalue()


@pytest.fixture(scope="module")
def best_report(tiny_run):
    return benchmark(tiny_run, **FAST)


def test_benchmark_of_a_run_matches_its_card(tiny_run, best_report):
    card = json.loads((tiny_run / "best" / "card.json").read_text())
    (model,) = best_report.models
    assert model.trial == card["trial"] and model.labels == tuple(card["labels"])
    assert model.test_clips == card["data"]["clips"]["test"]
    by_variant = {a.variant: a for a in model.accuracy}
    assert list(by_variant) == list(VARIANTS)  # float, float ONNX, int8 ONNX, int8 TFLite, in that order
    assert by_variant["float"].metrics.accuracy == pytest.approx(card["metrics"]["test_accuracy"])
    assert by_variant["float"].metrics.macro_f1 == pytest.approx(card["metrics"]["test_macro_f1"])
    assert by_variant["int8_tflite"].metrics.accuracy == pytest.approx(
        card["metrics"]["test_accuracy_tflite"]
    )
    assert by_variant["int8_onnx"].metrics.accuracy == pytest.approx(card["metrics"]["test_accuracy_int8"])
    for row in model.accuracy:
        label, f1 = row.worst_class
        assert f1 == min(row.metrics.f1) and label == row.metrics.labels[row.metrics.f1.index(f1)]
        assert sum(map(sum, row.metrics.confusion)) == model.test_clips
    assert model.deployed.variant == "int8_tflite"
    assert not model.notes


def test_footprint_on_every_device_against_the_budget(best_report):
    (model,) = best_report.models
    assert [d.footprint.device for d in model.devices] == [d.name for d in list_devices()]
    assert best_report.budget == Budget(ram_bytes=48 * 1024)  # the run's budget by default
    for fit in model.devices:
        assert fit.limits["ram_bytes"] <= 48 * 1024
        assert fit.fits == (
            fit.footprint.ram_bytes <= fit.limits["ram_bytes"]
            and fit.footprint.flash_bytes <= fit.limits["flash_bytes"]
        )
        assert fit.fits == (not fit.violations)
    m0 = next(d for d in model.devices if d.footprint.device == "cortex-m0plus-64mhz")
    assert m0.limits["ram_bytes"] == 32 * 1024  # the device's RAM where it is below the budget


def test_an_explicit_budget_replaces_the_runs(tiny_run):
    report = benchmark(tiny_run, budget=Budget(ram_bytes=1024), **FAST)
    assert all(not d.fits and d.violations[0].limit == "ram_bytes" for d in report.models[0].devices)


def test_latency_is_measured_per_stage_and_runtime(best_report):
    (model,) = best_report.models
    stats = {(s.stage, s.runtime.split(" ")[0], s.variant): s for s in model.latency}
    assert ("features", "torch", None) in stats
    for key in (
        ("inference", "LiteRT", "int8_tflite"),
        ("inference", "ONNX", "int8_onnx"),
        ("inference", "ONNX", "float_onnx"),
    ):
        assert key in stats, key
    for s in model.latency:
        assert (s.runs, s.warmup_runs) == (FAST["repeats"], FAST["warmup"])
        assert 0 < s.min_ms <= s.median_ms <= s.p90_ms < 5000


def test_json_holds_the_same_numbers(best_report, tmp_path):
    path = write_benchmark_json(best_report, tmp_path / "ci" / "bench.json")
    data = json.loads(path.read_text())
    assert data["kwsauto_benchmark"] == 1 and data["budget"]["ram_bytes"] == 48 * 1024
    (model,) = data["models"]
    assert [a["variant"] for a in model["accuracy"]] == list(VARIANTS)
    assert model["accuracy"][-1]["accuracy"] == best_report.models[0].accuracy[-1].metrics.accuracy
    assert set(model["accuracy"][-1]["per_class"]) == set(model["labels"])
    assert {d["device"] for d in model["devices"]} == {d.name for d in list_devices()}
    assert all({"median_ms", "p90_ms", "runs"} <= set(s) for s in model["latency"])
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]  # atomic: no temporary file left


def test_top_two_side_by_side_leaves_the_run_untouched(tiny_run):
    before = sorted(p.relative_to(tiny_run) for p in tiny_run.rglob("*"))
    report = benchmark(tiny_run, top=2, **FAST)
    assert len(report.models) == 2 and report.models[0].trial != report.models[1].trial
    runner_up = report.models[1]
    assert [a.variant for a in runner_up.accuracy] == list(VARIANTS)  # int8 models made on the fly
    assert any("temporary folder" in n for n in runner_up.notes)
    assert sorted(p.relative_to(tiny_run) for p in tiny_run.rglob("*")) == before
    text = _render(benchmark_view(report))
    assert f"trial {runner_up.trial}" in text and "Footprint per device" in text


def test_an_untrained_trial_has_a_footprint_only(tiny_run):
    rows = json.loads((tiny_run / "leaderboard.json").read_text())
    number = next(r["number"] for r in rows if r["state"] == "infeasible")
    report = benchmark(tiny_run / "trials" / f"{number:04d}", **FAST)  # the folder need not exist
    (model,) = report.models
    assert model.trial == number and not model.accuracy and model.test_clips == 0
    device = json.loads((tiny_run / "run.json").read_text())["device"]
    assert not next(d for d in model.devices if d.footprint.device == device).fits
    assert any("not trained" in n for n in model.notes)


def test_a_model_file_with_its_card(tiny_run):
    card = json.loads((tiny_run / "best" / "card.json").read_text())
    (model,) = benchmark(tiny_run / "best" / "model_int8.tflite", **FAST).models
    tflite = next(a for a in model.accuracy if a.variant == "int8_tflite")
    assert tflite.metrics.accuracy == pytest.approx(card["metrics"]["test_accuracy_tflite"])
    assert "float" not in {a.variant for a in model.accuracy}  # no weights: float comes from model.onnx
    assert model.devices


def test_a_model_without_card_benchmarks_what_it_can(loose_model):
    report = benchmark(loose_model, **FAST)
    (model,) = report.models
    assert not model.accuracy
    assert model.devices and any(s.runtime == "LiteRT" for s in model.latency)
    assert any("no card.json" in n for n in model.notes)
    assert any("no test accuracy" in n and "--data" in n for n in model.notes)
    assert "no card.json" in _render(benchmark_view(report))


def test_a_model_without_card_takes_its_test_split_from_data(loose_model, tone_dataset):
    (model,) = benchmark(loose_model, data=tone_dataset, **FAST).models
    assert [a.variant for a in model.accuracy] == ["int8_tflite"] and model.test_clips > 0


def test_view_shows_every_table(best_report):
    text = _render(benchmark_view(best_report))
    for title in (
        "Test accuracy",
        "Footprint per device",
        "Host latency",
        "Per class",
        "Confusion matrix",
        "macro-F1",
    ):
        assert title in text, title
    assert "LiteRT" in text and "ONNX Runtime" in text


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "nope", "does not exist"),
        (lambda d: (d / "notes.txt").write_text("x") and d / "notes.txt", "is not a .tflite or .onnx model"),
        (lambda d: d, "is not a run folder"),
        (
            lambda d: (d / "fake.tflite").write_bytes(b"garbage" * 4) and d / "fake.tflite",
            "is not a TFLite model",
        ),
        (
            lambda d: (d / "fake.onnx").write_bytes(b"\xff" * 64) and d / "fake.onnx",
            "is not a readable ONNX model",
        ),
    ],
)
def test_a_target_that_is_no_model_is_a_one_line_error(tmp_path, make, message):
    from kwsauto.errors import KwsautoError

    with pytest.raises(KwsautoError, match=message) as info:
        benchmark(make(tmp_path), **FAST)
    assert "\n" not in str(info.value)


def test_run_errors_are_one_line(tiny_run, empty_run):
    for kwargs, message in (
        ({"target": empty_run}, "no finished trial"),
        ({"target": empty_run, "top": 2}, "no finished trial"),
        ({"target": tiny_run, "trial": 99}, "has no trial 99"),
        ({"target": tiny_run, "trial": 1, "top": 2}, "exclude each other"),
        ({"target": tiny_run, "repeats": 0}, "repeats"),
    ):
        with pytest.raises(ConfigError, match=message) as info:
            benchmark(**{**FAST, **kwargs})
        assert "\n" not in str(info.value)


def test_api_errors_name_fields_and_the_cli_names_its_flags(tiny_run):
    from kwsauto.cli import _in_flags

    model = tiny_run / "best" / "model_int8.tflite"
    for kwargs, api_text, cli_text in (
        ({"target": tiny_run, "top": 0}, "top must be at least 1", "--top must be at least 1"),
        ({"target": tiny_run, "trial": 1, "top": 2}, "top and `trial` exclude each other", "--top and --trial exclude"),
        ({"target": model, "trial": 1}, "trial 1 needs a run folder", "--trial 1 needs a run folder"),
        ({"target": tiny_run, "repeats": 0}, "repeats must be at least 1 (and `warmup`", "--repeats must be at least 1 (and --warmup"),
    ):
        with pytest.raises(ConfigError) as info:
            benchmark(**{**FAST, **kwargs})
        message = str(info.value)
        assert message.startswith(api_text) and " --" not in message
        assert _in_flags(info.value).startswith(cli_text)


def test_the_host_is_a_typed_record_and_its_json_as_before(best_report):
    from kwsauto.evaluate import HostInfo

    host, data = best_report.host, best_report.to_dict()["host"]
    assert isinstance(host, HostInfo) and data["torch_threads"] == host.torch_threads >= 1
    assert set(data) >= {"platform", "machine", "processor", "python", "torch", "onnxruntime"}
    assert ("ai_edge_litert" in data) == (host.ai_edge_litert is not None)
