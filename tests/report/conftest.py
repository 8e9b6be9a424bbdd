"""A run with no finished trial, and a loose model, beside the tiny real search (``tiny_run``, tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kwsauto.search import RunFolder


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
