"""Ctrl-C and SIGTERM mean the same thing: stop the work cleanly, keep what is finished, exit non-zero.

A process supervisor, a CI job or a cluster scheduler stops a program with SIGTERM; the user with Ctrl-C (SIGINT).
Both raise :class:`Interrupted` (a ``KeyboardInterrupt``), or, during training, ask the trainer to stop after the
current batch. The exit code is ``128 + signal``: 130 for Ctrl-C, 143 for SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["Interrupted", "STOP_SIGNALS", "exit_code_of", "on_stop_signals", "raising_on_stop_signals"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The work was stopped by ``signum``; what finished before it is kept."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def exit_code_of(exc: BaseException) -> int:
    """The exit code for an interrupt: ``128 + signal`` (130 for a plain ``KeyboardInterrupt``)."""
    return exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT


@contextlib.contextmanager
def on_stop_signals(handler: Callable[[int], None]) -> Iterator[None]:
    """Call ``handler(signum)`` on SIGINT and SIGTERM while inside; only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def call(signum: int, frame: FrameType | None) -> None:
        handler(signum)

    previous = {s: signal.signal(s, call) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@contextlib.contextmanager
def raising_on_stop_signals() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Interrupted` as Ctrl-C does (for a command's or a worker's lifetime)."""

    def stop(signum: int) -> None:
        raise Interrupted(signum)

    with on_stop_signals(stop):
        yield
