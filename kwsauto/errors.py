"""Errors that the CLI turns into one-line messages (exit code 2).

Every error raised for bad user input is a :class:`KwsautoError`. Its message says what was wrong, the
value given, what is valid and how to fix it, in one line. Anything else that escapes is a bug and keeps
its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "KwsautoError",
    "DataError",
    "ConfigError",
    "BudgetError",
    "OutputError",
    "did_you_mean",
]


class KwsautoError(Exception):
    """Base class of the errors caused by user input; the CLI prints them as one line.

    The API's messages name settings by their field, never by a CLI flag: ``field`` is the field the message starts
    with (``n_trials must be at least 1``), and a field named later in the message is written in backticks
    (``choose another `out```); the CLI puts its flag in both places (``--trials``, ``--out``).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DataError(KwsautoError):
    """A dataset folder, file or split that cannot be used."""


class ConfigError(KwsautoError, ValueError):
    """A setting, name or search space that is not valid."""


class BudgetError(KwsautoError):
    """A budget that nothing in the search space can meet."""


class OutputError(KwsautoError):
    """An output folder that cannot be written."""


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    choices = sorted(str(c) for c in choices)
    prefixed = [c for c in choices if c.startswith(str(value))]
    close = prefixed or difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""
