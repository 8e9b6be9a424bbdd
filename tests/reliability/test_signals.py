"""Signals on the real command in a subprocess: SIGTERM is treated like Ctrl-C (the trial stops at its next batch,
the leaderboard is written, the exit code is non-zero, the study resumes and retries the trial), Ctrl-C prints no
traceback at any stage (while Python starts, before data, while clips are decoded, mid-trial), and ``--workers``
processes stop with the main one. The kill -9 resume, the workers and the decode cases take 15-20 s each: ``slow``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from kwsauto._io import process_alive
from kwsauto.search import RunFolder, open_study
from tests.conftest import tiny_space  # the resilience tests' tiny space


def _start(data: Path, tmp: Path, *extra: str, log: str = "log") -> tuple[subprocess.Popen, Path]:
    space = tmp / "space.yaml"
    if not space.exists():
        space.write_text(tiny_space(epochs=300, learning_rate=(0.0001, 0.01), early_stopping_patience=0))
    args = ["search", str(data), "--space", str(space), "--out", str(tmp / "run"), "--budget", "256KB",
            "--pruner", "none", "--study", "sig", "--reselect", "0", "--no-refit", *extra]
    out = tmp / log
    process = subprocess.Popen([sys.executable, "-m", "kwsauto", *args], stdout=out.open("wb"),
                               stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return process, out


def _wait_for_training(run: Path, timeout_s: float = 240) -> None:
    """Until some trial has finished an epoch (so the signal lands mid-trial)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.3)
        try:
            trials = open_study(RunFolder(run), "sig").trials
        except (KeyError, FileNotFoundError, ValueError):
            continue
        if any(t.state == TrialState.RUNNING and t.user_attrs.get("last_epoch", 0) >= 1 for t in trials):
            return
    raise AssertionError("no trial reached its first epoch in time")


@pytest.mark.parametrize("signum", [signal.SIGTERM, pytest.param(signal.SIGKILL, marks=pytest.mark.slow)],
                         ids=["SIGTERM", "SIGKILL"])
def test_a_trial_stopped_mid_way_runs_again_with_its_parameters(small_data, tmp_path, signum):
    """SIGTERM: stopped at the next batch, leaderboard written, exit 143. kill -9: nothing runs, the resume finds
    the dead trial. Either way the resumed search retries it, and ``--trials 1`` means one finished trial."""
    process, log = _start(small_data, tmp_path, "--trials", "1")
    _wait_for_training(tmp_path / "run")
    process.send_signal(signum)
    code = process.wait(timeout=120)
    if signum == signal.SIGTERM:
        assert code == 128 + signal.SIGTERM, log.read_text()
        text = log.read_text()
        assert "Traceback" not in text and "interrupted" in text
        board = json.loads((tmp_path / "run" / "leaderboard.json").read_text())
        assert board and "SIGTERM" in board[0]["error"]
        stopped = open_study(RunFolder(tmp_path / "run"), "sig").trials[0]
        assert stopped.state == TrialState.FAIL and stopped.user_attrs["interrupted"]

    (tmp_path / "space.yaml").write_text(tiny_space(epochs=2, learning_rate=(0.0001, 0.01), early_stopping_patience=0))  # resume quickly: same space, fewer epochs
    again, log2 = _start(small_data, tmp_path, "--trials", "1", log="log2")
    assert again.wait(timeout=400) == 0, log2.read_text()
    study = open_study(RunFolder(tmp_path / "run"), "sig")
    stopped = study.trials[0]
    assert stopped.state == TrialState.FAIL and stopped.user_attrs["interrupted"]
    retry = next(t for t in study.trials if t.user_attrs.get("retry_of") == stopped.number)
    assert retry.state == TrialState.COMPLETE and retry.params == stopped.params
    assert len([t for t in study.trials if not t.user_attrs.get("interrupted")]) == 1  # --trials 1: one finished
    assert (tmp_path / "run" / "best" / "card.json").is_file()


def test_ctrl_c_mid_trial_prints_no_traceback(small_data, tmp_path):
    process, log = _start(small_data, tmp_path, "--trials", "2")
    _wait_for_training(tmp_path / "run")
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130, log.read_text()
    text = log.read_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text and "interrupted" in text
    assert (tmp_path / "run" / "leaderboard.json").is_file()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from /proc")
def test_workers_stop_with_the_main_process(small_data, tmp_path):
    process, log = _start(small_data, tmp_path, "--trials", "6", "--workers", "2")
    _wait_for_training(tmp_path / "run")
    workers = [c for c in _children(process.pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    assert workers, "the worker process did not start"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 128 + signal.SIGTERM, log.read_text()
    deadline = time.monotonic() + 10
    while any(process_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(process_alive(w) for w in workers)
    assert "Traceback" not in log.read_text()


_SLOW_DECODE = """
import pathlib, sys, time
import kwsauto.data._cache as cache

marker, real = pathlib.Path(sys.argv[1]), cache.read_clip

def slow(*args, **kwargs):  # each clip takes 0.2 s, so that the signal lands while clips are decoded
    marker.touch()
    time.sleep(0.2)
    return real(*args, **kwargs)

cache.read_clip = slow
from kwsauto.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


def _nothing_trained(run: Path) -> None:
    assert not (run / "trials").exists() and not (run / "best").exists()


@pytest.mark.parametrize(("signum", "delay_s"), [(signal.SIGINT, 0.5), (signal.SIGINT, 2.5), (signal.SIGTERM, 2.5)],
                         ids=["Ctrl-C while Python starts", "Ctrl-C while Lightning loads", "SIGTERM before data"])
def test_a_signal_before_any_data_is_read_exits_quietly(small_data, tmp_path, signum, delay_s):
    process, log = _start(small_data, tmp_path, "--trials", "1")
    time.sleep(delay_s)
    process.send_signal(signum)
    assert process.wait(timeout=60) == 128 + signum, log.read_text()
    assert "Traceback" not in log.read_text()
    _nothing_trained(tmp_path / "run")


@pytest.mark.slow
def test_ctrl_c_while_clips_are_decoded_leaves_no_half_written_cache(small_data, tmp_path):
    marker, cache = tmp_path / "decoding", tmp_path / "cache"
    space = tmp_path / "space.yaml"
    space.write_text(tiny_space(epochs=1))
    args = ["search", str(small_data), "--space", str(space), "--out", str(tmp_path / "run"), "--trials", "1"]
    log = tmp_path / "log"
    process = subprocess.Popen([sys.executable, "-c", _SLOW_DECODE, str(marker), *args], stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, env={**os.environ, "KWSAUTO_CACHE": str(cache)})
    deadline = time.monotonic() + 60
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), log.read_text()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130, log.read_text()
    text = log.read_text()
    assert "Traceback" not in text and "interrupted" in text
    _nothing_trained(tmp_path / "run")
    assert not [p for p in cache.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"], list(cache.rglob("*"))
