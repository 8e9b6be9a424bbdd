"""What a search leaves in its run folder: ``trials/<n>/`` per trained trial, and the card's verification block."""

from __future__ import annotations

import json

import pytest
import torch

from kwsauto.data import load_dataset
from kwsauto.export import tflm_arena_usage
from kwsauto.features import compute_features
from kwsauto.models import create_model
from kwsauto.search._export import CALIBRATION_CLIPS
from kwsauto.training import TrialConfig, evaluate


def test_each_trained_trial_keeps_its_weights_and_config(tiny_run, tone_dataset):
    board = json.loads((tiny_run / "leaderboard.json").read_text())
    card = json.loads((tiny_run / "best" / "card.json").read_text())
    labels = json.loads((tiny_run / "run.json").read_text())["labels"]
    for row in board:
        folder = tiny_run / "trials" / f"{row['number']:04d}"
        if row["state"] != "complete":
            assert not folder.exists(), row  # an infeasible trial trains nothing and leaves nothing
            continue
        refit = card["selection"]["refit"] and row["number"] == card["trial"]  # trained again on train+val
        assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.pt"] + ["refit.pt"] * refit
        config = TrialConfig.from_dict(json.loads((folder / "config.json").read_text()))
        model = create_model(config.model, len(labels), config.features.shape)
        weights = folder / ("refit.pt" if refit else "model.pt")
        model.load_state_dict(torch.load(weights, weights_only=True))  # exactly this architecture
        if row["number"] == card["trial"]:  # the saved weights are the ones the card measured
            features = compute_features(load_dataset(tone_dataset), config.features)
            assert evaluate(model.eval(), features, "test").accuracy == pytest.approx(card["metrics"]["test_accuracy"])


def test_card_verification_block_is_measured(tiny_run, tone_dataset):
    card = json.loads((tiny_run / "best" / "card.json").read_text())
    verification, tflite = card["verification"], tiny_run / "best" / "model_int8.tflite"
    assert verification["tflite_bytes"] == tflite.stat().st_size
    assert verification["tflm_arena_bytes"] == tflm_arena_usage(tflite).arena_bytes == card["footprint"]["tflm_arena_bytes"]
    assert verification["tflm_vs_litert_max_lsb"] <= 1
    n_train = len(load_dataset(tone_dataset).split("train"))
    assert verification["tflm_vs_litert_clips"] == min(CALIBRATION_CLIPS, n_train)  # every calibration clip
    assert verification["agreement_tflite_onnx_int8"] == card["metrics"]["agreement_tflite_onnx_int8"]
    # the estimate for the host's 64-bit TFLM is the one the measurement checks (the device's is smaller)
    assert abs(verification["estimated_host_arena_bytes"] - verification["tflm_arena_bytes"]) <= 0.01 * verification[
        "tflm_arena_bytes"]
    assert card["footprint"]["arena_bytes"] < verification["estimated_host_arena_bytes"]


def test_python_api_reads_the_run_as_the_cli_does(tiny_run):
    import kwsauto

    run = kwsauto.load_run(tiny_run)
    board = json.loads((tiny_run / "leaderboard.json").read_text())
    rows = run.rows()
    assert [r["number"] for r in rows] == [r["number"] for r in board]
    assert [r["state"] for r in rows] == [r["state"] for r in board]
    assert run.card.to_dict() == json.loads((tiny_run / "best" / "card.json").read_text())
    assert run.settings.study == json.loads((tiny_run / "run.json").read_text())["study"]
    assert {"run_search", "train", "load_run", "export_run", "SearchSettings"} <= set(kwsauto.__all__)


def test_a_card_json_enqueues_its_configuration(tiny_run):
    from kwsauto.search import load_space
    from kwsauto.search._enqueue import read_parameter_sets

    card = json.loads((tiny_run / "best" / "card.json").read_text())
    space = load_space(tiny_run.parent / "space.yaml")
    (params,) = read_parameter_sets(tiny_run / "best" / "card.json", space)
    assert params == {"model.width": card["config"]["model"]["width"],
                      "train.learning_rate": card["config"]["train"]["learning_rate"]}


def test_macro_f1_metric_is_the_objective(tone_dataset, tmp_path):
    from kwsauto.device import Budget
    from kwsauto.search import SearchSettings, open_study, run_search
    from tests.conftest import write_tiny_space

    space = write_tiny_space(tmp_path, epochs=2, widths=(0.25,))
    result = run_search(SearchSettings(data=tone_dataset, space=str(space), out=tmp_path / "run", n_trials=1,
                                       budget=Budget(ram_bytes=64 * 1024), metric="macro_f1"))
    (trial,) = open_study(result.run, result.study_name).trials
    config = TrialConfig.from_dict(json.loads((result.run.trial_dir(0) / "config.json").read_text()))
    model = create_model(config.model, 3, config.features.shape)
    model.load_state_dict(torch.load(result.run.trial_dir(0) / "model.pt", weights_only=True))
    features = compute_features(load_dataset(tone_dataset), config.features)
    assert trial.value == pytest.approx(evaluate(model.eval(), features, "val").macro_f1)
