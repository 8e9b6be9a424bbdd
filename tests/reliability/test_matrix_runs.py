"""Corrupted run folders: ``run.json`` and ``card.json`` cut short, of the wrong schema or with wrong types;
``study.journal`` torn, empty, garbage or gone; ``best/`` missing files; a trial folder missing or its weights
replaced. Each case copies one real finished run (a one-trial search, made once per module), damages it, and runs
the real command in-process: one line and exit 2, or exit 0 where kwsauto rebuilds what is missing ("held")."""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability._matrix import EXECUTED, SPACE, Case, RunsCode, check_case, no_code_ran, write


@pytest.fixture(scope="module")
def finished_run(small_data, tmp_path_factory) -> Path:
    from kwsauto.device import Budget
    from kwsauto.search import SearchSettings, run_search

    root = tmp_path_factory.mktemp("finished")
    space = write(root / "space.yaml", SPACE)
    result = run_search(SearchSettings(data=small_data, space=str(space), out=root / "run", n_trials=1,
                                       budget=Budget(ram_bytes=64 * 1024), reselect=0, refit=False))
    assert result.card is not None and (root / "run" / "trials" / "0000" / "model.pt").is_file()
    return root / "run"


def _damaged(command: str, damage: Callable[[Path], object], *extra: str):
    """``setup`` for a case: the finished run copied to ``tmp/r``, damaged, and ``command`` run on it."""

    def setup(tmp: Path, run: Path) -> list:
        copy = tmp / "r"
        shutil.copytree(run, copy)
        damage(copy)
        return [command, copy, *extra]

    return setup


def _cut(name: str, keep: int = -40):
    return lambda r: (r / name).write_bytes((r / name).read_bytes()[:keep])


def _set(name: str, key: str, value):
    return lambda r: (r / name).write_text(json.dumps({**json.loads((r / name).read_text()), key: value}))


def _bytes(name: str, content: bytes):
    return lambda r: (r / name).write_bytes(content)


def _gone(name: str):
    return lambda r: shutil.rmtree(r / name) if (r / name).is_dir() else (r / name).unlink()


def _pickled_weights(r: Path) -> None:
    (r / "trials" / "0000" / "model.pt").write_bytes(pickle.dumps({"w": RunsCode(r.parent / EXECUTED)}))


def _journal_repaired(tmp: Path) -> None:
    assert (tmp / "r" / "study.journal").read_bytes().endswith(b"\n")


def _best_untouched(tmp: Path) -> None:
    """A failed export leaves the previous ``best/`` whole, and no temporary folder beside it."""
    assert (tmp / "r" / "best" / "model_int8.tflite").is_file() and not list((tmp / "r").glob(".best.*"))


CARD, TRIAL = "best/card.json", "trials/0000"
CASES = [
    Case("run.json cut short: report", _damaged("report", _cut("run.json")), "cannot be read"),
    Case("run.json empty: summary", _damaged("summary", _bytes("run.json", b"")), "cannot be read"),
    Case("run.json a list: export", _damaged("export", _bytes("run.json", b"[1]")), "holds a JSON list, not an object"),
    Case("run.json study of the wrong type: leaderboard", _damaged("leaderboard", _set("run.json", "study", 5)),
         "setting 'study' must be a string, but got 5"),
    Case("run.json budget of the wrong type: report", _damaged("report", _set("run.json", "budget", "lots")),
         "setting 'budget' must be a mapping of Budget fields"),
    Case("run.json unknown key: leaderboard", _damaged("leaderboard", _set("run.json", "studdy", "x")),
         "Unknown run.json setting 'studdy' (did you mean 'study'?)"),
    Case("card.json cut short: summary", _damaged("summary", _cut(CARD)), "cannot be read"),
    Case("card.json cut short: benchmark", _damaged("benchmark", _cut(CARD), "--repeats", "1"), "cannot be read"),
    Case("card.json a list: benchmark", _damaged("benchmark", _bytes(CARD, b"[]"), "--repeats", "1"),
         "holds a JSON list, not an object"),
    Case("card.json labels of the wrong type: report", _damaged("report", _set(CARD, "labels", 5)),
         "card field 'labels' must be a list, but got 5"),
    Case("card.json metrics of the wrong type: report", _damaged("report", _set(CARD, "metrics", "x")),
         "'metrics' must be a mapping of CardMetrics fields"),
    Case("journal torn last line: leaderboard (held)", _damaged("leaderboard", _cut("study.journal")),
         "Leaderboard", code=0, after=_journal_repaired),
    Case("journal empty: leaderboard", _damaged("leaderboard", _bytes("study.journal", b"")), "holds no study"),
    Case("journal garbage: leaderboard", _damaged("leaderboard", _bytes("study.journal", bytes(range(256)) * 2)),
         "is damaged"),
    Case("journal missing: leaderboard", _damaged("leaderboard", _gone("study.journal")), "has no study.journal"),
    Case("leaderboard.json missing: leaderboard (held)", _damaged("leaderboard", _gone("leaderboard.json")),
         "Leaderboard", code=0),
    Case("best/ tflite missing: summary (held)", _damaged("summary", _gone("best/model_int8.tflite")), "params", code=0),
    Case("best/ missing: report (held)", _damaged("report", _gone("best")), "report.html", code=0),
    Case("trial folder missing: export", _damaged("export", _gone(TRIAL), "--format", "tflite"),
         "has no saved weights", after=_best_untouched),
    Case("trial weights garbage: export", _damaged("export", _bytes(f"{TRIAL}/model.pt", b"garbage"), "--format", "tflite"),
         "model.pt holds no readable trial weights", after=_best_untouched),
    Case("trial weights a pickle that would run code: export", _damaged("export", _pickled_weights, "--format", "tflite"),
         "model.pt holds no readable trial weights", after=lambda t: (no_code_ran(t), _best_untouched(t))),
    Case("trial config.json cut short: export from the study's copy (held)",
         _damaged("export", _cut(f"{TRIAL}/config.json"), "--format", "tflite"), "Chosen model", code=0),
    Case("export of a trial that does not exist", _damaged("export", lambda r: None, "--trial", "99"), "has no trial 99"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corrupted_run_files(case, finished_run, tmp_path, capsys):
    check_case(case, finished_run, tmp_path, capsys)
