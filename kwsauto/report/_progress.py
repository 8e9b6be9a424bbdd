"""Live progress of a search in the terminal: the budget (trials, time left, best so far), the running trial, and
data preparation."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from kwsauto.units import format_bytes

__all__ = ["DataProgress", "SearchProgress"]


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class _Bars:
    """Live bars drawn while the ``with`` block runs, gone after it."""

    progress: Progress

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()


class SearchProgress(_Bars):
    """A :class:`kwsauto.search.TrialListener` that draws rich progress bars and one line per trial.

    The first bar is the budget: trials against ``n_trials`` (rejected infeasible ones do not count), or, with only
    a ``time_limit_s``, the time; its text gives the time left, the ETA and the best feasible result so far. The
    second bar is the running trial: its model and epoch, with a timer that restarts each trial.
    """

    def __init__(self, console: Console, n_trials: int | None, time_limit_s: float | None = None) -> None:
        self.console = console
        self.n_trials = n_trials
        self.time_limit_s = time_limit_s
        self.started = time.monotonic()
        self.best: float | None = None
        self.counted = 0
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn() if n_trials is not None else TextColumn(""),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=True,
        )
        total = n_trials if n_trials is not None else time_limit_s
        self.trials = self.progress.add_task("trials", total=total, info=self._budget_info())
        self.epochs = self.progress.add_task("epochs", total=None, info="", visible=False)
        self.data = self.progress.add_task("data", total=None, info="", visible=False)

    def _budget_info(self) -> str:
        elapsed = time.monotonic() - self.started
        parts = []
        if self.time_limit_s is not None:
            parts.append(f"{_clock(self.time_limit_s - elapsed)} left")
        if self.n_trials is not None and self.counted:
            eta = elapsed / self.counted * (self.n_trials - self.counted)
            if self.time_limit_s is not None:
                eta = min(eta, self.time_limit_s - elapsed)
            parts.append(f"ETA {_clock(eta)}")
        parts.append(f"best {100 * self.best:.1f}%" if self.best is not None else "best —")
        return " · ".join(parts)

    def _refresh_budget(self) -> None:
        completed = self.counted if self.n_trials is not None else min(time.monotonic() - self.started,
                                                                       self.time_limit_s or 0.0)
        self.progress.update(self.trials, completed=completed, info=self._budget_info())

    def on_data(self, stage: str, done: int, total: int) -> None:
        """Decoding or featurizing clips: a bar with its ETA, hidden when the stage is done."""
        self.progress.update(self.data, description=stage, completed=done, total=total, visible=done < total)
        eta = next(t for t in self.progress.tasks if t.id == self.data).time_remaining
        self.progress.update(self.data, info="clips" + (f" · ETA {_clock(eta)}" if eta is not None else ""))

    def on_finish(self, stage: str, done: int, total: int) -> None:
        """Re-selection, refit and export after the trials: one bar of steps, the trial bar hidden."""
        self.progress.update(self.epochs, visible=False)
        self.progress.update(self.data, description=escape(stage), completed=done, total=total, visible=done < total,
                             info="steps")

    def on_trial_start(self, number, config, footprint) -> None:
        m = config.model
        self.progress.reset(
            self.epochs,
            description=f"trial {number}",
            total=config.train.epochs,
            completed=0,
            visible=True,
            info=f"{m.name} · RAM {format_bytes(footprint.ram_bytes)}",
        )
        self._refresh_budget()

    def on_infeasible(self, number, config, violations) -> None:
        worst = max(violations, key=lambda v: v.excess)
        self.console.print(f"[yellow]trial {number}[/] {escape(config.model.name)}: infeasible, "
                           f"{escape(worst.describe())} (not trained)")
        self._refresh_budget()

    def on_epoch(self, number, epoch, max_epochs, metrics) -> None:
        acc = metrics.get("val_acc")
        model = self.progress.tasks[self.epochs].fields.get("info", "").split(" · val acc")[0]
        info = f"{model} · val acc {100 * acc:.1f}%" if acc is not None else model
        self.progress.update(self.epochs, completed=epoch + 1, info=info)
        self._refresh_budget()

    def on_trial_end(self, number, result, error) -> None:
        self.progress.update(self.epochs, visible=False)
        self.counted += 1
        if result is not None:
            self.best = max(self.best or 0.0, result.val_accuracy)
        self._refresh_budget()
        if error == "pruned":
            self.console.print(f"[blue]trial {number}[/] pruned (behind the median at this epoch)")
        elif error == "cut":
            self.console.print(f"[magenta]trial {number}[/] cut by the time limit (not counted as complete)")
        elif error:
            self.console.print(f"[red]trial {number} failed:[/] {escape(error)}")
        elif result is not None:
            self.console.print(
                f"[green]trial {number}[/] val acc "
                f"{100 * result.val_accuracy:.1f}% (best epoch {result.best_epoch + 1}/{result.epochs_run}, "
                f"{result.seconds:.0f}s)"
            )


class DataProgress(_Bars):
    """``progress(stage, done, total)`` for :func:`kwsauto.features.compute_features`: a bar per stage, with its ETA."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console, transient=True,
        )
        self.tasks: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, visible=done < total)
