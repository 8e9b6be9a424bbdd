"""Run files survive kills: a torn journal line is cut off with a warning, best/ is replaced whole, a killed
trial is queued again with its parameters and does not count toward ``--trials``."""

from __future__ import annotations

import logging
import os

import optuna
import pytest
from optuna.trial import TrialState

from kwsauto._io import replaced_dir
from kwsauto.search import RunFolder, open_study
from kwsauto.search._storage import OWNER_ATTR, counted_trials, fail_stale_trials


def _study_with_trials(run: RunFolder, n: int) -> optuna.Study:
    study = open_study(run, "s", optuna.samplers.RandomSampler(seed=0), pareto=False)
    for _ in range(n):
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0)
        study.tell(trial, 0.5)
    return study


def test_a_torn_last_journal_line_is_cut_with_a_warning_before_anything_appends(tmp_path, caplog):
    run = RunFolder(tmp_path)
    _study_with_trials(run, 3)
    whole = run.storage_path.read_bytes()
    os.truncate(run.storage_path, len(whole) - 40)  # a kill or a full disk mid-write
    with caplog.at_level(logging.WARNING):
        study = open_study(run, "s", pareto=False)  # a resumed search opens it, then appends
    assert str(run.storage_path) in caplog.text and "cut short" in caplog.text
    assert run.storage_path.read_bytes().endswith(b"\n")
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    study.tell(trial, 0.9)
    again = open_study(run, "s")  # what `kwsauto leaderboard` does: it must load, with the new trial
    assert len(again.trials) == 4 and again.trials[-1].value == 0.9
    assert [t.state for t in again.trials[:2]] == [TrialState.COMPLETE] * 2  # only the cut record is lost


def test_an_intact_journal_is_left_alone(tmp_path, caplog):
    run = RunFolder(tmp_path)
    _study_with_trials(run, 2)
    before = run.storage_path.read_bytes()
    with caplog.at_level(logging.WARNING):
        open_study(run, "s")
    assert run.storage_path.read_bytes() == before and "cut short" not in caplog.text


def test_a_killed_trial_is_queued_again_with_its_parameters_and_does_not_count(tmp_path):
    run = RunFolder(tmp_path)
    study = _study_with_trials(run, 1)
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    trial.set_user_attr(OWNER_ATTR, f"{os.uname().nodename}:999999999")  # a process that no longer exists
    assert counted_trials(study) == 2
    assert fail_stale_trials(study) == 1
    killed = study.trials[1]
    assert killed.state == TrialState.FAIL and killed.user_attrs["interrupted"]
    assert counted_trials(study) == 1
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].user_attrs["retry_of"] == killed.number
    retry = study.ask()
    assert retry.suggest_float("x", 0.0, 1.0) == killed.params["x"]


def test_replaced_dir_swaps_the_folder_whole(tmp_path):
    best = tmp_path / "best"
    best.mkdir()
    (best / "old.txt").write_text("old")
    with replaced_dir(best) as tmp:
        assert tmp.parent == best.parent and tmp != best
        (tmp / "new.txt").write_text("new")
        assert (best / "old.txt").is_file()  # readers still see the old export while the new one is written
    assert sorted(p.name for p in best.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["best"]  # no temporary folder left


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_export_leaves_the_old_folder_as_it_was(tmp_path, error):
    best = tmp_path / "best"
    best.mkdir()
    (best / "card.json").write_text("{}")
    (best / "model_int8.tflite").write_bytes(b"old")
    with pytest.raises(error), replaced_dir(best) as tmp:
        (tmp / "card.json").write_text('{"new": 1}')
        raise error
    assert sorted(p.name for p in best.iterdir()) == ["card.json", "model_int8.tflite"]
    assert (best / "card.json").read_text() == "{}" and [p.name for p in tmp_path.iterdir()] == ["best"]


def test_a_folder_left_aside_by_a_crash_is_put_back(tmp_path):
    aside = tmp_path / ".best.old-12345"  # a crash between the two renames where no atomic exchange exists
    aside.mkdir()
    (aside / "card.json").write_text("{}")
    (tmp_path / ".best.new-999999999-abc").mkdir()  # the unfinished export of a writer that died
    (tmp_path / f".best.new-{os.getpid()}-live").mkdir()  # a live writer's: left alone
    with replaced_dir(tmp_path / "best") as tmp:
        assert (tmp_path / "best" / "card.json").is_file()
        (tmp / "card.json").write_text('{"new": 1}')
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".best.new-{os.getpid()}-live", "best"]


def test_export_trial_writes_into_a_temporary_sibling(tmp_path, monkeypatch):
    from kwsauto.search import _export

    best = tmp_path / "best"
    best.mkdir()
    (best / "card.json").write_text("{}")

    def interrupted(*args):
        out = args[8]  # trial, features, index, run, device, budget, settings, formats, out, ...
        assert out != best and out.parent == tmp_path
        (out / "model_int8.tflite").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(_export, "_write_export", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _export.export_trial(None, None, None, RunFolder(tmp_path), None, None, {}, out=best)
    assert [p.name for p in best.iterdir()] == ["card.json"]


def test_ctrl_c_during_the_final_export_still_writes_the_leaderboard(tone_dataset, tmp_path, monkeypatch):
    """The one trial is infeasible (nothing trains); the interrupt comes during the export step."""
    from kwsauto.device import Budget
    from kwsauto.search import SearchSettings, _study, run_search

    space = tmp_path / "space.yaml"
    space.write_text("features: {frame_stride_s: 0.02}\nmodel: {arch: dscnn, width: {choices: [0.25, 2.0]}}\n"
                     "train: {epochs: 1, batch_size: 16}\n")
    seeds = tmp_path / "seeds.yaml"
    seeds.write_text("- {model.width: 2.0}\n")

    def interrupted_export(prepared, deadline=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(_study, "_finish", interrupted_export)
    result = run_search(SearchSettings(data=tone_dataset, space=str(space), out=tmp_path / "run", n_trials=1,
                                       enqueue=seeds, budget=Budget(ram_bytes=64 * 1024), reselect=0, refit=False))
    assert result.interrupted and result.exit_code == 130
    board = (tmp_path / "run" / "leaderboard.json").read_text()
    assert '"number": 0' in board and not (tmp_path / "run" / "best").exists()
