"""Failed trials in one line: Optuna's own log records of a failure lose their traceback (kept with ``--debug``).

The trial listener already shows each failure's error; an interrupted trial is not logged at all, since the command
itself says "interrupted".
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["quiet_failed_trial_logs"]


class _QuietTrialFailures(logging.Filter):
    """Optuna logs a failed trial with its traceback, then "failed with value None"; one line is enough.

    An interrupted trial is not logged at all (the command says "interrupted"); ``--debug`` keeps tracebacks.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] and issubclass(record.exc_info[0], KeyboardInterrupt):
            return False
        if str(record.msg).endswith("failed with value None."):
            return False
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            record.exc_info, record.exc_text = None, None
        return True


@contextlib.contextmanager
def quiet_failed_trial_logs() -> Iterator[None]:
    logger, quiet = logging.getLogger("optuna.study._optimize"), _QuietTrialFailures()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
