"""Pruning, Pareto mode, resume after SIGKILL, parallel workers, seeding, faults: the search under real conditions."""

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from kwsauto.device import Budget
from kwsauto.errors import ConfigError
from kwsauto.search._pruning import FamilyMedianPruner
from kwsauto.search import RunFolder, SearchSettings, open_study, run_search
from kwsauto.training import resolve_hardware
from tests.conftest import write_tiny_space


def _space(tmp_path, epochs=3):
    return write_tiny_space(tmp_path, f"space{epochs}.yaml", epochs=epochs, learning_rate=(0.0001, 0.01),
                            early_stopping_patience=0)


def _settings(data, space, out, **kwargs):
    kwargs = {"reselect": 0, "refit": False, **kwargs}  # the final choice over seeds is tested in test_search.py
    return SearchSettings(data=data, space=str(space), out=out, budget=Budget(ram_bytes=256 * 1024), **kwargs)


class _PruneFromTrialOne(optuna.pruners.BasePruner):
    """Trial 0 completes; every later trial is pruned at its third epoch (step 2): pruning that cannot not happen."""

    def prune(self, study, trial) -> bool:
        return trial.number >= 1 and trial.last_step is not None and trial.last_step >= 2


def test_pruned_trials_are_listed_with_their_last_accuracy(tone_dataset, tmp_path, monkeypatch):
    import kwsauto.search._study

    monkeypatch.setattr(kwsauto.search._study, "_pruner", lambda settings: _PruneFromTrialOne())
    result = run_search(_settings(tone_dataset, _space(tmp_path, epochs=5), tmp_path / "run", n_trials=2, seeds=False))
    trials = open_study(result.run, result.study_name).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED]
    pruned = trials[1]
    assert sorted(pruned.intermediate_values) == [0, 1, 2]  # fed each epoch's validation accuracy, then pruned
    (row,) = [r for r in result.rows if r["number"] == 1]
    assert row["state"] == "pruned"
    assert row["val_accuracy"] == pruned.intermediate_values[2] and row["epochs_run"] == 3


@pytest.mark.parametrize(
    ("pruner", "objective", "expected"),
    [
        ("median", "accuracy", FamilyMedianPruner),  # the median within the trial's family
        ("hyperband", "accuracy", optuna.pruners.HyperbandPruner),
        ("none", "accuracy", optuna.pruners.NopPruner),
        ("median", "pareto", optuna.pruners.NopPruner),  # Optuna cannot prune a multi-objective study
    ],
)
def test_pruner_setting_picks_optunas_pruner(tone_dataset, tmp_path, pruner, objective, expected):
    from kwsauto.search._study import _pruner

    assert type(_pruner(_settings(tone_dataset, _space(tmp_path), tmp_path, pruner=pruner, objective=objective))) is expected


def _dominates(a, b) -> bool:
    """``a`` is at least as accurate, as small and as fast as ``b``, and better in one (values: acc, ram, latency)."""
    at_least = a[0] >= b[0] and a[1] <= b[1] and a[2] <= b[2]
    return at_least and tuple(a) != tuple(b)


def test_pareto_mode_writes_front(tone_dataset, tmp_path):
    import csv

    result = run_search(_settings(tone_dataset, _space(tmp_path), tmp_path / "run", n_trials=5, objective="pareto",
                                  sampler="nsga2", seeds=False))
    trials = open_study(result.run, result.study_name).trials
    feasible = [t for t in trials if t.state == TrialState.COMPLETE and t.user_attrs["feasible"]]
    front = {t.number for t in feasible if not any(_dominates(o.values, t.values) for o in feasible)}
    assert len(feasible) > len(front) >= 1  # the front leaves out at least one dominated trial
    assert {r["number"] for r in result.pareto} == front
    with (result.run.path / "pareto.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:5] == ["number", "model", "val_accuracy", "ram_bytes", "latency_ms"]
    assert [(int(r["number"]), float(r["val_accuracy"]), int(r["ram_bytes"])) for r in rows] == [
        (r["number"], r["val_accuracy"], r["ram_bytes"]) for r in result.pareto
    ]
    assert (result.run.path / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert result.card is not None  # the hard limits still choose one deployable model


def test_enqueue_runs_known_configs_first(tone_dataset, tmp_path):
    seeds = tmp_path / "seeds.yaml"
    seeds.write_text("- {model.width: 0.5, train.learning_rate: 0.005}\n- {model.width: 0.25, train.learning_rate: 0.002}\n")
    result = run_search(_settings(tone_dataset, _space(tmp_path), tmp_path / "run", n_trials=2, enqueue=seeds))
    study = open_study(result.run, result.study_name)
    assert [t.params["model.width"] for t in study.trials] == [0.5, 0.25]
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {model.widht: 0.5}\n")
    with pytest.raises(ConfigError, match="did you mean 'model.width'"):
        run_search(_settings(tone_dataset, _space(tmp_path), tmp_path / "run2", n_trials=1, enqueue=bad))
    # a previous run's best seeds a new search
    again = run_search(_settings(tone_dataset, _space(tmp_path), tmp_path / "run3", n_trials=1, enqueue=result.run.path))
    first = open_study(again.run, again.study_name).trials[0]
    assert first.params["model.width"] == result.card.config.model.width


def test_a_failing_trial_is_recorded_and_the_study_goes_on(tone_dataset, tmp_path):
    expert = tmp_path / "nan.py"
    expert.write_text(
        "import torch\n"
        "class NanLoss(torch.nn.Module):\n"
        "    def forward(self, logits, y):\n"
        "        return logits.sum() * float('nan')\n"
        "def loss(class_weights):\n"
        "    return NanLoss()\n"
    )
    result = run_search(_settings(tone_dataset, _space(tmp_path), tmp_path / "run", n_trials=2, expert=expert))
    failed = [r for r in result.rows if r["state"] == "fail"]
    assert len(failed) == 2 and all("nan" in r["error"].lower() for r in failed)
    assert result.card is None


def test_dashboard_can_load_the_study(tone_dataset, tmp_path):
    result = run_search(_settings(tone_dataset, _space(tmp_path), tmp_path / "run", n_trials=1))
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(result.run.storage_path)))
    study = optuna.load_study(study_name=result.study_name, storage=storage)
    assert len(study.trials) == 1


def _cli(*args, log):
    """The real command in a subprocess; output goes to a file (a pipe nobody reads would fill and block it)."""
    return subprocess.Popen([sys.executable, "-m", "kwsauto", *args], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow  # real processes, minutes
def test_sigkill_mid_trial_then_resume(tone_dataset, tmp_path):
    space, out = _space(tmp_path, epochs=150), tmp_path / "run"
    args = ("search", str(tone_dataset), "--space", str(space), "--trials", "3", "--out", str(out), "--budget", "256KB",
            "--pruner", "none", "--study", "killed", "--reselect", "0", "--no-refit")
    process = _cli(*args, log=tmp_path / "first.log")
    deadline = time.monotonic() + 240
    running = None
    while time.monotonic() < deadline and running is None:
        time.sleep(0.2)
        if (out / "study.journal").is_file():
            try:
                study = open_study(RunFolder(out), "killed")
            except KeyError:  # the journal exists a moment before the study is recorded in it
                continue
            running = next((t for t in study.trials if t.state == TrialState.RUNNING and t.user_attrs.get("last_epoch", 0) >= 2
                            and t.number >= 1), None)
    assert running is not None, "no trial reached its second epoch in time"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    finished_before = {t.number for t in open_study(RunFolder(out), "killed").trials if t.state == TrialState.COMPLETE}
    assert finished_before  # trial 0 finished before the kill

    restarted = _cli(*args[:4], "--trials", "4", *args[6:], log=tmp_path / "second.log")
    restarted.wait(timeout=400)
    assert restarted.returncode == 0, (tmp_path / "second.log").read_text()
    study = open_study(RunFolder(out), "killed")
    numbers = sorted(t.number for t in study.trials)
    assert numbers == list(range(len(numbers)))  # no duplicate, no gap, numbering continued
    stale = next(t for t in study.trials if t.number == running.number)
    assert stale.state == TrialState.FAIL and "interrupted" in stale.user_attrs["error"]
    # the killed trial does not count: it ran again with its parameters, and 4 trials finished
    retry = next(t for t in study.trials if t.user_attrs.get("retry_of") == stale.number)
    assert retry.params == stale.params and retry.state == TrialState.COMPLETE
    assert len([t for t in study.trials if not t.user_attrs.get("interrupted")]) == 4
    assert finished_before <= {t.number for t in study.trials if t.state == TrialState.COMPLETE}
    card = json.loads((out / "best" / "card.json").read_text())
    board = json.loads((out / "leaderboard.json").read_text())
    best = max((r for r in board if r["state"] == "complete"), key=lambda r: (r["objective"], -r["number"]))
    assert card["trial"] == best["number"]


@pytest.mark.slow  # real processes, minutes
def test_two_workers_share_one_study(tone_dataset, tmp_path):
    import torch

    threads = torch.get_num_threads()
    result = run_search(_settings(tone_dataset, _space(tmp_path, epochs=12), tmp_path / "run", n_trials=6, workers=2))
    assert torch.get_num_threads() == threads  # the workers' share of the threads does not outlive the search
    study = open_study(result.run, result.study_name)
    numbers = sorted(t.number for t in study.trials)
    assert numbers == list(range(len(numbers))) and len(numbers) >= 6
    owners = {t.user_attrs.get("owner") for t in study.trials}
    assert len(owners) == 2  # both processes ran trials
    # each trained trial says where it ran (here the CPU: no GPU to share out; gpu_for_worker decides with GPUs)
    trained = [t for t in study.trials if t.user_attrs.get("feasible")]
    assert {t.user_attrs["hardware"]["device"] for t in trained} == {resolve_hardware().label}
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials), [
        (t.number, t.state, t.user_attrs.get("error")) for t in study.trials
    ]


@pytest.mark.slow  # real processes, minutes
def test_ctrl_c_ends_the_trial_writes_the_leaderboard_and_exits_130(tone_dataset, tmp_path):
    space, out = _space(tmp_path, epochs=150), tmp_path / "run"
    process = _cli("search", str(tone_dataset), "--space", str(space), "--trials", "5", "--out", str(out),
                   "--budget", "256KB", "--pruner", "none", "--study", "interrupted", "--reselect", "0", "--no-refit",
                   log=tmp_path / "log")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            trials = open_study(RunFolder(out), "interrupted").trials
        except (KeyError, FileNotFoundError, ValueError):
            continue
        if any(t.state == TrialState.COMPLETE for t in trials) and any(
            t.state == TrialState.RUNNING and t.user_attrs.get("last_epoch", 0) >= 2 for t in trials
        ):
            break
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=300) == 130, (tmp_path / "log").read_text()
    board = json.loads((out / "leaderboard.json").read_text())
    assert any(r["state"] == "complete" for r in board)
    assert (out / "best" / "card.json").is_file()  # the best finished trial is still exported
