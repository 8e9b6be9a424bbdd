import json
import time

import pytest

from kwsauto.data import DatasetOptions
from kwsauto.device import Budget
from kwsauto.errors import BudgetError
from kwsauto.search import SearchSettings, load_space, open_study, run_search
from kwsauto.training import resolve_hardware
from tests.conftest import write_tiny_space


@pytest.fixture()
def space_file(tmp_path):
    return write_tiny_space(tmp_path, epochs=4, widths=(0.25, 1.0), archs=("dscnn", "mobilenetv1"))


def _settings(data, space, out, **kwargs):
    """Without re-selection and refit unless asked: only the end-to-end test needs them (and their time)."""
    kwargs = {"reselect": 0, "refit": False, **kwargs}
    return SearchSettings(
        data=data, space=str(space), out=out, budget=Budget(ram_bytes=48 * 1024), sampler="random", **kwargs
    )


def test_search_end_to_end_and_resume(tone_dataset, space_file, tmp_path):
    out = tmp_path / "run"
    result = run_search(_settings(tone_dataset, space_file, out, n_trials=6, reselect=3, refit=True))
    rows = result.rows
    assert sorted(r["number"] for r in rows) == list(range(len(rows)))
    assert sum(r["state"] != "infeasible" for r in rows) == 6  # rejected infeasible trials do not use up --trials

    infeasible = [r for r in rows if r["state"] == "infeasible"]
    assert infeasible, "the space has models over 48 KB; some trial must have drawn one"
    for row in infeasible:
        assert row["failed_limit"] in ("ram_bytes", "flash_bytes") and row["violations"]
        if row["failed_limit"] == "ram_bytes":
            assert row["ram_bytes"] > 48 * 1024
        assert row["epochs_run"] is None and row["val_accuracy"] is None  # rejected before training

    trained = [r for r in rows if r["state"] == "complete"]
    assert trained and all(r["ram_bytes"] <= 48 * 1024 for r in trained)
    best = max(trained, key=lambda r: r["val_accuracy"])
    card = json.loads((out / "best" / "card.json").read_text())
    # re-selection: the best trials by validation retrained with 2 new seeds each, chosen by the mean, then refit
    selection = card["selection"]
    by_number = {r["number"]: r for r in trained}
    assert best["number"] in {c["trial"] for c in selection["candidates"]} and len(selection["candidates"]) <= 3
    for candidate in selection["candidates"]:
        assert candidate["scores"][0] == by_number[candidate["trial"]]["val_accuracy"]  # its search run first
        assert len(candidate["scores"]) == 3 and candidate["mean"] == pytest.approx(sum(candidate["scores"]) / 3)
    chosen = max(selection["candidates"], key=lambda c: (c["mean"], -c["trial"]))
    assert card["trial"] == selection["chosen"] == chosen["trial"]
    retrained = chosen["scores"][1:]  # the estimate leaves out the search's own run (picked as a maximum)
    assert selection["val_estimate"] == pytest.approx(sum(retrained) / 2) == card["metrics"]["val_accuracy"]
    assert selection["val_runs"] == 2 and selection["refit"] and selection["refit_epochs"] >= 1
    assert card["data"]["speaker_ids"]["test"] and not set(card["data"]["speaker_ids"]["test"]) & set(
        card["data"]["speaker_ids"]["train"])  # who went where, speakers disjoint
    n_val = len(card["data"]["speaker_ids"]["val"])  # 8 tone speakers: 1 or 2 in validation, a warning says so
    assert n_val < 3 and any(f"val split holds {n_val} speaker" in w for w in card["data"]["warnings"])
    assert card["labels"] == ["high", "low", "mid"]
    assert card["footprint"]["ram_bytes"] <= card["budget"]["ram_bytes"] == 48 * 1024
    for key in ("val_accuracy", "test_accuracy", "test_accuracy_int8"):
        assert 0.0 <= card["metrics"][key] <= 1.0
    assert card["metrics"]["test_accuracy"] > 0.5  # tones are easy; chance is 1/3
    assert abs(card["metrics"]["test_accuracy_int8"] - card["metrics"]["test_accuracy"]) <= 0.15
    for key in ("frame_length_s", "frame_stride_s", "n_filters", "fft_length", "low_hz", "high_hz", "noise_floor_db"):
        assert key in card["features"]
    for name in ("model.onnx", "model_int8.onnx"):
        assert (out / "best" / name).stat().st_size > 1000
    for key in ("c_frontend_header", "c_frontend_source", "c_model_settings", "c_example", "readme"):
        assert (out / "best" / card["files"][key]).is_file()  # the C front end beside model_int8.tflite
    frontend = card["frontend"]  # DSP RAM as compiled: sizeof(kws_frontend_t) + writable statics
    assert card["footprint"]["dsp_ram_bytes"] == frontend["state_bytes"] + frontend["static_bytes"] > 0
    board = json.loads((out / "leaderboard.json").read_text())
    assert {r["number"] for r in board} == set(range(len(rows)))
    header = (out / "leaderboard.csv").read_text().splitlines()[0].split(",")
    for column in ("number", "state", "val_accuracy", "test_accuracy", "ram_bytes", "flash_bytes", "latency_ms",
                   "feasible", "failed_limit", "seconds", "device", "params"):
        assert column in header
    # where it ran: run.json for the invocation, each trained trial in the leaderboard, the chosen one in the card
    here = resolve_hardware().to_dict()
    ran = json.loads((out / "run.json").read_text())
    assert (ran["accelerator"], ran["precision"], ran["hardware"]) == ("auto", "32", here)
    assert all(r["device"] == here["device"] for r in trained) and all(r["device"] is None for r in infeasible)
    assert card["hardware"] == here and card["hardware"]["precision"] == "32"
    assert not list(out.rglob("*.tmp"))  # atomic writes leave no temp files

    # the same command again resumes: numbering continues, finished trials are kept
    again = run_search(_settings(tone_dataset, space_file, out, n_trials=8, reselect=3, refit=True))
    assert sorted(r["number"] for r in again.rows) == list(range(len(again.rows)))
    assert sum(r["state"] != "infeasible" for r in again.rows) == 8
    assert {r["number"]: r["state"] for r in again.rows if r["number"] < len(rows)} == {
        r["number"]: r["state"] for r in rows}
    study = open_study(again.run, again.study_name)
    assert len(study.trials) == len(again.rows)


def test_resume_with_other_settings_is_refused(tone_dataset, space_file, tmp_path):
    out = tmp_path / "run"
    run_search(_settings(tone_dataset, space_file, out, n_trials=1))
    from kwsauto.errors import ConfigError

    with pytest.raises(ConfigError, match="budget"):
        run_search(SearchSettings(data=tone_dataset, space=str(space_file), out=out, budget=Budget(ram_bytes=1 << 20)))


def test_impossible_budget_stops_before_training(tone_dataset, space_file, tmp_path):
    started = time.perf_counter()
    with pytest.raises(BudgetError, match=r"smallest, (dscnn|mobilenetv1)_025.*needs RAM"):
        run_search(SearchSettings(data=tone_dataset, space=str(space_file), out=tmp_path / "r", budget=Budget(ram_bytes=4096)))
    assert time.perf_counter() - started < 20
    assert not (tmp_path / "r" / "study.journal").exists()


def test_space_architecture_choices_cover_shapes(space_file):
    choices = load_space(space_file).architecture_choices()
    assert {(c.model.arch, c.model.width) for c in choices} == {
        ("dscnn", 0.25), ("dscnn", 1.0), ("mobilenetv1", 0.25), ("mobilenetv1", 1.0)
    }


def test_dataset_options_reach_the_search(tone_dataset, space_file, tmp_path):
    result = run_search(_settings(tone_dataset, space_file, tmp_path / "kw", n_trials=1, dataset=DatasetOptions(keywords=("low",))))
    assert json.loads((result.run.path / "run.json").read_text())["labels"] == ["low", "unknown"]


@pytest.mark.parametrize("seeds", [True, False])
def test_default_space_queues_its_seeds_first_unless_no_seeds(tone_dataset, tmp_path, monkeypatch, seeds):
    from optuna.trial import TrialState

    import kwsauto.search._study
    from kwsauto.search._enqueue import read_parameter_sets
    from kwsauto.search._space import builtin_seeds

    monkeypatch.setattr(kwsauto.search._study, "_optimize", lambda prepared, started: None)  # queue, train nothing
    settings = SearchSettings(data=tone_dataset, space="default", out=tmp_path / "run", n_trials=2, seeds=seeds)
    result = run_search(settings)
    queued = [t.system_attrs["fixed_params"] for t in open_study(result.run, result.study_name).get_trials(states=(TrialState.WAITING,))]
    expected = read_parameter_sets(builtin_seeds("default"), load_space("default")) if seeds else []
    assert queued == expected and len(expected) in (0, 3)


def test_time_limit_is_the_budget_and_a_cut_trial_is_not_complete(tone_dataset, tmp_path):
    assert SearchSettings().trial_limit == 20
    assert SearchSettings(time_limit_s=600).trial_limit is None  # --time-limit alone: search until the time is up
    assert SearchSettings(time_limit_s=600, n_trials=3).trial_limit == 3  # both: whichever comes first
    space = tmp_path / "long.yaml"
    space.write_text("features: {frame_stride_s: 0.02}\nmodel: {arch: dscnn, width: 0.25}\n"
                     "train: {epochs: 500, batch_size: 16, early_stopping_patience: 0}\n")
    result = run_search(_settings(tone_dataset, space, tmp_path / "run", time_limit_s=8))
    states = [r["state"] for r in result.rows]
    assert states and set(states) == {"cut"}, states  # stopped mid-training by the limit: never stored as complete
    assert result.card is None and not (tmp_path / "run" / "best" / "card.json").exists()
