"""Several machines sharing one study through PostgreSQL (Optuna's RDB storage).

Needs a reachable server: ``KWSAUTO_TEST_POSTGRES`` holds its URL (``.ci/run`` starts one and sets it).
"""

import json
import os
import subprocess
import sys
import uuid

import pytest
from optuna.trial import TrialState

from kwsauto.search import RunFolder, open_study
from tests.conftest import write_tiny_space

URL = os.environ.get("KWSAUTO_TEST_POSTGRES")

def _reachable(url: str | None) -> str | None:
    if not url:
        return "KWSAUTO_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server and sets it)"
    try:
        import sqlalchemy

        with sqlalchemy.create_engine(url).connect():
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means: no server to test against
        return f"PostgreSQL at KWSAUTO_TEST_POSTGRES is not reachable: {type(exc).__name__}"


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_reachable(URL) is not None, reason=_reachable(URL) or "")]


def test_two_machines_share_one_study(tone_dataset, tmp_path):
    space = write_tiny_space(tmp_path, epochs=6, learning_rate=(0.001, 0.01))
    study_name = f"dist-{uuid.uuid4().hex[:8]}"
    outs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "kwsauto", "search", str(tone_dataset), "--space", str(space), "--trials", "6",
             "--storage", URL, "--study", study_name, "--out", str(out), "--budget", "256KB", "--reselect", "0", "--no-refit"],
            stdout=(tmp_path / f"{out.name}.log").open("wb"), stderr=subprocess.STDOUT,
        )
        for out in outs
    ]
    for process in processes:
        process.wait(timeout=600)
    outputs = [(tmp_path / f"{out.name}.log").read_text() for out in outs]
    assert all(p.returncode == 0 for p in processes), outputs

    study = open_study(RunFolder(outs[0]), study_name, storage=URL)
    numbers = sorted(t.number for t in study.trials)
    assert numbers == list(range(len(numbers))) and len(numbers) >= 6
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials), [
        (t.number, t.state, t.user_attrs.get("error")) for t in study.trials
    ]
    owners = {t.user_attrs["owner"] for t in study.trials}
    assert len(owners) == 2

    best = max((t for t in study.trials if t.state == TrialState.COMPLETE), key=lambda t: (t.values[0], -t.number))
    password = URL.split("@")[0].rsplit(":", 1)[-1]
    for out, text in zip(outs, outputs):
        mine = {int(p.name) for p in (out / "trials").iterdir()}
        assert mine and mine <= set(numbers)  # each machine keeps its own trials' artifacts
        card = json.loads((out / "best" / "card.json").read_text())
        assert card["trial"] == best.number  # the global best, exported on both machines
        for path in out.rglob("*"):
            if path.is_file() and path.suffix in (".json", ".csv", ".md", ".html", ".txt"):
                assert password not in path.read_text(errors="ignore")
        assert password not in text
    a, b = ({int(p.name) for p in (out / "trials").iterdir()} for out in outs)
    assert not a & b


def _open_storage(url, barrier, results):
    from kwsauto.search._storage import make_storage

    barrier.wait()
    try:
        make_storage(None, url)
        results.put(None)
    except Exception as exc:  # noqa: BLE001 - reported back to the test process
        results.put(str(exc))


def test_workers_starting_together_on_a_fresh_database_all_open_it():
    """Four workers open one empty database at the same instant, five times over: the ones that lose the race to
    create Optuna's tables wait and open it (before, about one start in sixteen failed on "relation already
    exists")."""
    import multiprocessing

    import sqlalchemy

    admin = sqlalchemy.create_engine(URL, isolation_level="AUTOCOMMIT")
    context = multiprocessing.get_context("fork")  # the workers only talk to the database
    for _ in range(5):
        name = f"fresh_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
        url = URL.rsplit("/", 1)[0] + "/" + name
        barrier, results = context.Barrier(4), context.Queue()
        workers = [context.Process(target=_open_storage, args=(url, barrier, results)) for _ in range(4)]
        for worker in workers:
            worker.start()
        errors = [error for error in (results.get(timeout=120) for _ in workers) if error]
        for worker in workers:
            worker.join(timeout=60)
        assert not errors, errors
    admin.dispose()


def test_the_table_race_is_told_apart_from_a_real_failure():
    from kwsauto.search._storage import _schema_race

    class DuplicateTable(Exception):
        pass

    wrapped = RuntimeError("(psycopg.errors.DuplicateTable) relation \"studies\" already exists")
    wrapped.orig = DuplicateTable()
    assert _schema_race(wrapped)
    assert not _schema_race(RuntimeError("password authentication failed for user \"kwsauto\""))
