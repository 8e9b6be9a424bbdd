"""The typed run records: run.json and card.json read back equal, and a card of another schema is refused."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kwsauto.data import DatasetOptions
from kwsauto.device import Budget
from kwsauto.errors import ConfigError, KwsautoError
from kwsauto.search import CARD_SCHEMA, ModelCard, RunFolder, RunSettings
from kwsauto.training import TrialConfig

# card.json as the search of kwsauto 0.1.0 (before the typed records) wrote it
CARD_0_1_0 = {
    "kwsauto_card": 1,
    "created": "2026-11-30T10:00:00+00:00",
    "trial": 3,
    "model": "mobilenetv1_025",
    "labels": ["high", "low", "mid"],
    "features": TrialConfig().features.to_dict(),
    "input_shape": [1, 99, 40],
    "config": TrialConfig().to_dict(),
    "metrics": {
        "val_accuracy": 0.9,
        "test_accuracy": 0.85,
        "test_macro_f1": 0.84,
        "test_per_class": {"high": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 4}},
        "test_confusion": [[2, 2, 0], [0, 4, 0], [0, 0, 4]],
        "test_accuracy_int8": 0.85,
        "test_macro_f1_int8": 0.84,
        "test_accuracy_tflite": 0.85,
        "agreement_tflite_onnx_int8": 1.0,
        "agreement_tflite_float": 0.95,
    },
    "footprint": {
        "device": "cortex-m4f-80mhz", "ram_bytes": 40000, "arena_bytes": 30000, "activation_bytes": 28000,
        "persistent_bytes": 2000, "dsp_ram_bytes": 10000, "flash_bytes": 90000, "model_bytes": 60000,
        "code_bytes": 30000, "macs": 2_000_000, "params": 20000, "latency_ms": 40.5, "inference_ms": 30.5,
        "dsp_ms": 10.0, "peak_ops": ["CONV_2D"], "tflm_arena_bytes": 31000,
    },
    "verification": {
        "tflm_arena_bytes": 31000, "tflm_min_arena_bytes": 32768, "estimated_host_arena_bytes": 30500,
        "tflm_runtime": "tflite-micro", "tflm_vs_litert_max_lsb": 0, "tflm_vs_litert_clips": 12,
        "agreement_tflite_float": 0.95, "tflite_bytes": 60000, "agreement_tflite_onnx_int8": 1.0,
    },
    "budget": {"ram_bytes": 49152, "flash_bytes": None, "latency_ms": None},
    "limits": {"ram_bytes": 49152, "flash_bytes": 1048576},
    "data": {
        "root": "/data/tones", "demo": False, "split_source": "speakers",
        "clips": {"train": 30, "val": 12, "test": 12}, "speakers": {"train": 5, "val": 2, "test": 2},
    },
    "files": {"tflite_int8": "model_int8.tflite", "onnx": "model.onnx", "onnx_int8": "model_int8.onnx"},
}

# run.json as kwsauto 0.1.0 wrote it: no pruner, time limit, workers, hooks, dataset seed/window/strict
RUN_0_1_0 = {
    "data": "/data/tones", "demo": False, "budget": {"ram_bytes": 49152, "flash_bytes": None, "latency_ms": None},
    "device": "cortex-m4f-80mhz", "space": "quick", "seed": 1, "sampler": "random", "objective": "accuracy",
    "metric": "accuracy", "study": "tones", "pretrained": None, "storage": None,
    "dataset": {"keywords": ["high", "low"], "noise_class": False, "val_fraction": 0.2, "test_fraction": 0.2,
                "speaker_patterns": list(DatasetOptions().speaker_patterns)},
    "labels": ["high", "low", "unknown"], "split_source": "speakers",
}


def test_a_card_of_0_1_0_reads_typed_and_round_trips(tmp_path: Path):
    card = ModelCard.from_dict(CARD_0_1_0)
    assert card.schema == CARD_SCHEMA and card.trial == 3 and card.labels == ("high", "low", "mid")
    assert card.metrics.test_accuracy_int8 == 0.85 and card.footprint.tflm_arena_bytes == 31000
    assert card.config == TrialConfig() and card.budget == Budget(ram_bytes=49152)
    assert card.footprint.peak_ops == ("CONV_2D",) and card.verification.tflm_vs_litert_clips == 12
    assert card.frontend is None  # the card predates the C front end
    RunFolder(tmp_path).write_card(card)
    assert json.loads((tmp_path / "best" / "card.json").read_text()) == CARD_0_1_0
    assert RunFolder(tmp_path).read_card() == card


@pytest.mark.parametrize("frontend", [
    {"arena_bytes_allocated": 40960, "dsp_ram_source": "estimate (no C compiler)"},
    {"arena_bytes_allocated": 40960, "dsp_ram_source": "sizeof(kws_frontend_t) + writable static data of kws_frontend.o",
     "state_bytes": 9000, "static_bytes": 64, "compiler": "cc"},
])
def test_a_card_with_its_c_front_end_writes_back_what_it_read(tmp_path: Path, frontend):
    raw = {**CARD_0_1_0, "frontend": frontend}
    card = ModelCard.from_dict(raw)
    assert card.frontend.arena_bytes_allocated == 40960
    RunFolder(tmp_path).write_card(card)
    assert json.loads((tmp_path / "best" / "card.json").read_text()) == raw
    assert RunFolder(tmp_path).read_card() == card


def test_a_card_without_verification_round_trips(tmp_path: Path):
    card = replace(ModelCard.from_dict(CARD_0_1_0), verification=None)
    RunFolder(tmp_path).write_card(card)
    assert json.loads((tmp_path / "best" / "card.json").read_text())["verification"] == {}
    assert RunFolder(tmp_path).read_card() == card


@pytest.mark.parametrize("schema", [2, None])
def test_a_card_of_another_schema_is_a_one_line_error(tmp_path: Path, schema):
    path = tmp_path / "best" / "card.json"
    path.parent.mkdir()
    path.write_text(json.dumps({**CARD_0_1_0, "kwsauto_card": schema}))
    with pytest.raises(ConfigError, match=f"card schema {schema!r} is not the schema {CARD_SCHEMA}") as info:
        RunFolder(tmp_path).read_card()
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_card_field_names_the_file(tmp_path: Path):
    path = tmp_path / "card.json"
    path.write_text(json.dumps({**CARD_0_1_0, "metrix": {}}))
    with pytest.raises(ConfigError, match="Unknown card field 'metrix' \\(did you mean 'metrics'\\?\\)") as info:
        ModelCard.read(path)
    assert str(path) in str(info.value)


def test_run_settings_of_0_1_0_read_with_what_those_runs_used(tmp_path: Path):
    (tmp_path / "run.json").write_text(json.dumps(RUN_0_1_0))
    settings = RunFolder(tmp_path).read_settings()
    assert settings.pruner == "median" and settings.workers == 1 and settings.time_limit_s is None
    assert settings.dataset == DatasetOptions(keywords=("high", "low"))
    assert settings.budget == Budget(ram_bytes=49152) and settings.labels == ("high", "low", "unknown")


def test_run_settings_round_trip_every_setting(tmp_path: Path):
    settings = RunSettings(
        data="/data/tones", study="tones", budget=Budget(ram_bytes=65536, latency_ms=50.0), device="cortex-m7-216mhz",
        space="default", seed=3, sampler="nsga2", pruner="hyperband", objective="pareto", metric="macro_f1",
        n_trials=7, time_limit_s=900.0, workers=2, expert="hooks.py", pretrained="imagenet",
        dataset=DatasetOptions(seed=5, window_s=1.5, strict=True, noise_class=True, keywords=("yes",)),
        labels=("noise", "unknown", "yes"), split_source="random",
    )
    RunFolder(tmp_path).write_settings(settings)
    assert RunFolder(tmp_path).read_settings() == settings


def test_unreadable_run_json_is_a_one_line_error(tmp_path: Path):
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(KwsautoError, match=r"run.json .*run.json cannot be read") as info:
        RunFolder(tmp_path).read_settings()
    assert "\n" not in str(info.value)


def test_a_card_that_is_no_json_object_is_the_shared_reader_error(tmp_path: Path):
    path = tmp_path / "card.json"
    path.write_text("[1, 2]")
    with pytest.raises(KwsautoError, match=r"card.json .*card.json holds a JSON list, not an object") as info:
        ModelCard.read(path)
    assert "\n" not in str(info.value)


def test_a_card_with_its_streaming_section_writes_back_what_it_read(tmp_path: Path):
    assert ModelCard.from_dict(CARD_0_1_0).streaming is None  # a card from before calibration reads as before
    score = {"keywords": 100, "hits": 93, "substitutions": 2, "false_activations": 1, "hours": 0.25,
             "far_per_hour": 4.0, "frr": 0.07, "wrong_keyword_rate": 0.02}
    streaming = {"settings": {"hop_ms": 100, "average_ms": 300, "threshold": 0.8, "suppression_ms": 1000},
                 "target_far_per_hour": 5.0, "validation": score, "test": score, "seed": 0,
                 "calibrated": "2026-12-02T16:00:00+00:00"}
    raw = {**CARD_0_1_0, "streaming": streaming}
    card = ModelCard.from_dict(raw)
    assert card.streaming.settings.average_hops == 3 and card.streaming.test.frr == 0.07
    RunFolder(tmp_path).write_card(card)
    assert json.loads((tmp_path / "best" / "card.json").read_text()) == raw
    assert RunFolder(tmp_path).read_card() == card
