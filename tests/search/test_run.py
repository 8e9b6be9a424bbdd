"""``Run``: one way to open a run folder, pick a trial, read its card and find its exported files."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import create_trial

from kwsauto.device import Budget
from kwsauto.errors import ConfigError, OutputError
from kwsauto.search import ModelCard, Run, RunFolder, RunSettings
from kwsauto.training import TrialConfig
from tests.search.test_records import CARD_0_1_0

CONFIG = TrialConfig().to_dict()


def _run_folder(path: Path, trials: list[dict]) -> RunFolder:
    """A run folder with ``trials`` in its journal (no training): each dict is create_trial's keywords."""
    folder = RunFolder(path).prepare()
    folder.write_settings(
        RunSettings(data="/data/tones", study="s", budget=Budget(ram_bytes=49152), device="cortex-m7-216mhz",
                    space="quick", labels=("high", "low", "mid"))
    )
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder.storage_path)))
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    for trial in trials:
        study.add_trial(create_trial(**trial))
    return folder


def _trained(value: float) -> dict:
    return {"value": value, "user_attrs": {"feasible": True, "config": CONFIG, "footprint": {"ram_bytes": 40000}}}


def _infeasible() -> dict:
    return {"value": 0.0, "user_attrs": {"feasible": False, "config": CONFIG, "failed_limit": "ram_bytes"}}


def test_a_run_opens_typed_and_picks_its_best_trained_trial(tmp_path: Path):
    folder = _run_folder(tmp_path / "run", [_trained(0.7), _infeasible(), _trained(0.9), _trained(0.8)])
    card = ModelCard.from_dict({**CARD_0_1_0, "trial": 2})
    folder.write_card(card)
    for name in ("model_int8.tflite", "model_int8.onnx", "model.onnx"):
        (folder.best_dir / name).write_bytes(b"x")

    run = Run.open(folder.path)
    assert run.settings.device == "cortex-m7-216mhz" and run.card == card
    assert run.trial().number == 2 and run.trial(1).number == 1
    assert run.record(1).state == "infeasible" and not run.record(1).trained and run.record(0).trained
    assert run.export_dir(2) == folder.best_dir and run.export_dir(0) == folder.trial_dir(0) / "export"
    assert run.exports(2) == {
        "tflite_int8": folder.best_dir / "model_int8.tflite",
        "onnx": folder.best_dir / "model.onnx",
        "onnx_int8": folder.best_dir / "model_int8.onnx",
    }
    assert run.exports(0) == {}
    rows = {r["number"]: r for r in run.rows()}
    assert rows[2]["test_accuracy"] == card.metrics.test_accuracy and rows[0]["test_accuracy"] is None


def test_picking_a_trial_that_is_not_there_is_a_one_line_error(tmp_path: Path):
    run = Run.open(_run_folder(tmp_path / "run", [_infeasible()]).path)
    with pytest.raises(ConfigError, match="has no trial 7"):
        run.trial(7)
    with pytest.raises(ConfigError, match=r"no finished trial that fits the budget \(trial states: complete\)"):
        run.trial()
    with pytest.raises(ConfigError, match="Trial 0 .* was not trained to the end"):
        run.trained_trial(0)


def test_a_folder_without_run_json_or_journal_is_a_one_line_error(tmp_path: Path):
    with pytest.raises(OutputError, match="not a kwsauto run folder"):
        Run.open(tmp_path)
    folder = _run_folder(tmp_path / "run", [])
    folder.storage_path.unlink()
    with pytest.raises(ConfigError, match="has no study.journal"):
        _ = Run.open(folder.path).study
