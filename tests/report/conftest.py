"""One tiny real search on synthetic tones, shared by the report tests, and a run with no finished trial."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kwsauto.device import Budget
from kwsauto.search import RunFolder, SearchSettings, run_search
from tests.conftest import write_tiny_space


@pytest.fixture(scope="session")
def tiny_run(tone_dataset, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report-run")
    # dscnn_025 fits 48 KB, dscnn at width 1.0 does not: the run has trained and infeasible trials
    space = write_tiny_space(root, epochs=2, widths=(0.25, 1.0))
    out = root / "run"
    settings = SearchSettings(
        data=tone_dataset,
        space=str(space),
        out=out,
        budget=Budget(ram_bytes=48 * 1024),
        sampler="random",
        n_trials=5,
        seed=1,
    )
    result = run_search(settings)
    states = [r["state"] for r in result.rows]
    assert states.count("complete") >= 2 and "infeasible" in states, (
        f"the fixture needs trained and infeasible trials: {states}"
    )
    assert (out / "best" / "model_int8.tflite").is_file()
    return out


@pytest.fixture(scope="session")
def empty_run(tiny_run, tmp_path_factory) -> Path:
    """A run folder whose study has one failed trial and nothing else."""
    import optuna
    from optuna.trial import TrialState, create_trial

    out = tmp_path_factory.mktemp("empty-run") / "run"
    settings = RunFolder(tiny_run).read_settings()
    RunFolder(out).prepare().write_settings(settings)
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(out / "study.journal"))
    )
    study = optuna.create_study(study_name=settings.study, storage=storage, direction="maximize")
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"error": "RuntimeError: boom"}))
    return out


@pytest.fixture()
def loose_model(tiny_run, tmp_path) -> Path:
    """The chosen model's .tflite alone in a folder: no card.json beside it."""
    path = tmp_path / "alone" / "model_int8.tflite"
    path.parent.mkdir()
    shutil.copy(tiny_run / "best" / "model_int8.tflite", path)
    return path
