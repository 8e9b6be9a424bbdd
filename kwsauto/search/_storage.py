"""Where a study lives: a journal file in the run folder (one machine, any number of worker processes), or an
RDB URL (``postgresql://…``) shared by machines. Also: failing the trials of workers that died, and keeping
passwords out of everything kwsauto prints or writes.
"""

from __future__ import annotations

import logging
import os
import random
import re
import socket
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from kwsauto._io import process_alive
from kwsauto._redact import redact
from kwsauto.errors import ConfigError, OutputError

__all__ = [
    "make_storage",
    "repair_journal",
    "fail_stale_trials",
    "retry_interrupted",
    "counted_trials",
    "owner_tag",
    "OWNER_ATTR",
    "INTERRUPTED_ATTR",
]

_LOGGER = logging.getLogger(__name__)
OWNER_ATTR = "owner"
INTERRUPTED_ATTR = "interrupted"  # a trial stopped by a signal or a kill: it does not count, a retry is queued
RETRY_ATTR = "retry_of"
HEARTBEAT_INTERVAL_S = 30
GRACE_PERIOD_S = 120


def make_storage(journal: Path, url: str | None = None) -> optuna.storages.BaseStorage:
    """The journal file (default), or the RDB at ``url`` with heartbeats so dead workers' trials fail."""
    if url is None:
        repair_journal(journal)
        backend = optuna.storages.journal.JournalFileBackend(str(journal))
        try:
            return optuna.storages.JournalStorage(backend)
        except (ValueError, KeyError, TypeError) as exc:  # a record damaged in the middle, not just a torn end
            raise OutputError(
                f"Study journal {journal} is damaged ({type(exc).__name__}: {str(exc)[:80]}); restore it from a "
                "backup, or start a new search with another `out`."
            ) from None
    if not re.match(r"^[a-z0-9+]+://", url):
        raise ConfigError(f"Storage {redact(url)!r} is not a database URL; use e.g. postgresql://user@host/db.")
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(
                url,
                heartbeat_interval=HEARTBEAT_INTERVAL_S,
                grace_period=GRACE_PERIOD_S,
                engine_kwargs={"pool_pre_ping": True},
            )
        except Exception as exc:  # SQLAlchemy/driver errors may echo the URL: never show it unredacted
            if attempt < 4 and _schema_race(exc):
                # another machine is creating the same tables in a fresh database right now: let it finish
                time.sleep(0.5 + random.random())
                continue
            message = redact(str(exc).splitlines()[0], url) if str(exc) else type(exc).__name__
            raise ConfigError(f"Cannot open storage {redact(url)}: {message}. Check the server and URL.") from None
    raise AssertionError("unreachable")


_SCHEMA_RACE_MARKS = ("UniqueViolation", "DuplicateTable", "DuplicateObject", "already exists")


def _schema_race(exc: BaseException) -> bool:
    """Whether ``exc`` is another process winning the race to create Optuna's tables (PostgreSQL checks, then
    creates: two fresh workers can both see no table and one of them fails on the other's ``CREATE TABLE``)."""
    text = f"{type(exc).__name__} {exc} {type(getattr(exc, 'orig', None)).__name__}"
    return any(mark in text for mark in _SCHEMA_RACE_MARKS)


def repair_journal(journal: Path) -> bool:
    """Cut a torn last record off the journal (a kill or a full disk mid-write), with a warning naming the file.

    Left in place, the next record would be appended to the partial line and the study would not load again.
    Done under the journal's own lock, so a live writer's record is never mistaken for a torn one.
    """
    journal = Path(journal)
    if not journal.is_file() or journal.stat().st_size == 0:
        return False
    lock = optuna.storages.journal.JournalFileSymlinkLock(str(journal))
    lock.acquire()
    try:
        with journal.open("rb+") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return False
            keep = _end_of_last_line(f, size)
            f.truncate(keep)
    finally:
        lock.release()
    _LOGGER.warning(
        "%s: its last record was cut short (a kill or a full disk mid-write); dropped the %d partial bytes",
        journal, size - keep,
    )
    return True


def _end_of_last_line(f, size: int, chunk: int = 1 << 16) -> int:
    """The offset just after the last newline of the open file ``f`` (0 when it has none)."""
    end = size
    while end > 0:
        start = max(0, end - chunk)
        f.seek(start)
        found = f.read(end - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def owner_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def fail_stale_trials(study: optuna.Study) -> int:
    """Mark RUNNING trials whose worker process on this host is gone as failed (a search killed mid-trial), and
    queue each again with its parameters, so that ``--trials N`` still means N finished trials.

    Trials of live processes, and of other hosts (an RDB storage's heartbeat handles those), are left alone.
    """
    host = socket.gethostname()
    failed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner_host, _, pid = str(trial.user_attrs.get(OWNER_ATTR, "")).partition(":")
        if owner_host and owner_host != host:
            continue
        if pid.isdigit() and process_alive(int(pid)):
            continue
        retry_interrupted(study, trial, "interrupted: its worker ended mid-trial")  # while it can still be updated
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        failed += 1
    if failed:
        _LOGGER.warning("Marked %d trial(s) of an interrupted search as failed", failed)
    return failed


def retry_interrupted(study: optuna.Study, trial: optuna.trial.FrozenTrial | optuna.Trial, reason: str) -> None:
    """Record why the running ``trial`` stopped, mark it as not counting, and queue a trial with its parameters."""
    storage = study._storage
    storage.set_trial_user_attr(trial._trial_id, "error", reason)
    storage.set_trial_user_attr(trial._trial_id, INTERRUPTED_ATTR, True)
    params = trial.params
    if params:
        study.enqueue_trial(params, user_attrs={RETRY_ATTR: trial.number}, skip_if_exists=False)


def counted_trials(study: optuna.Study) -> int:
    """Trials toward ``--trials``: finished, pruned, failed or running (so parallel workers do not overshoot), but
    not those stopped by an interrupt (they run again) nor those rejected as infeasible before training."""
    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
    return sum(
        1 for t in study.get_trials(deepcopy=False, states=states)
        if not t.user_attrs.get(INTERRUPTED_ATTR) and t.user_attrs.get("feasible", True) is not False
    )
