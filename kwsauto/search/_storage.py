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

from kwsauto.errors import ConfigError

__all__ = ["make_storage", "redact_url", "fail_stale_trials", "owner_tag", "OWNER_ATTR"]

_LOGGER = logging.getLogger(__name__)
OWNER_ATTR = "owner"
HEARTBEAT_INTERVAL_S = 30
GRACE_PERIOD_S = 120


def redact_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` → ``postgresql://user:***@host/db``; other strings unchanged."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def make_storage(journal: Path, url: str | None = None) -> optuna.storages.BaseStorage:
    """The journal file (default), or the RDB at ``url`` with heartbeats so dead workers' trials fail."""
    if url is None:
        backend = optuna.storages.journal.JournalFileBackend(str(journal))
        return optuna.storages.JournalStorage(backend)
    if not re.match(r"^[a-z0-9+]+://", url):
        raise ConfigError(f"Storage {redact_url(url)!r} is not a database URL; use e.g. postgresql://user@host/db.")
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(
                url,
                heartbeat_interval=HEARTBEAT_INTERVAL_S,
                grace_period=GRACE_PERIOD_S,
                engine_kwargs={"pool_pre_ping": True},
            )
        except Exception as exc:  # SQLAlchemy/driver errors may echo the URL: never show it unredacted
            if attempt < 4 and "UniqueViolation" in type(exc).__name__ + str(exc):
                # another machine is creating the same tables in a fresh database right now: let it finish
                time.sleep(0.5 + random.random())
                continue
            message = redact_url(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
            raise ConfigError(f"Cannot open storage {redact_url(url)}: {message}. Check the server and URL.") from None
    raise AssertionError("unreachable")


def owner_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def fail_stale_trials(study: optuna.Study) -> int:
    """Mark RUNNING trials whose worker process on this host is gone as failed (a search killed mid-trial).

    Trials of live processes, and of other hosts (an RDB storage's heartbeat handles those), are left alone.
    """
    host = socket.gethostname()
    failed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner_host, _, pid = str(trial.user_attrs.get(OWNER_ATTR, "")).partition(":")
        if owner_host and owner_host != host:
            continue
        if pid.isdigit() and _alive(int(pid)):
            continue
        study._storage.set_trial_user_attr(trial._trial_id, "error", "interrupted: its worker ended mid-trial")
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        failed += 1
    if failed:
        _LOGGER.warning("Marked %d trial(s) of an interrupted search as failed", failed)
    return failed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True
