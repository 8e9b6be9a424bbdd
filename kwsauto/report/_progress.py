"""Live progress of a search in the terminal: a bar for trials, a bar for the current trial's epochs."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kwsauto.units import format_bytes

__all__ = ["SearchProgress"]


class SearchProgress:
    """A :class:`kwsauto.search.TrialListener` that draws rich progress bars and one line per trial."""

    def __init__(self, console: Console, n_trials: int | None) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=True,
        )
        self.trials = self.progress.add_task("trials", total=n_trials, info="")
        self.epochs = self.progress.add_task("epochs", total=None, info="", visible=False)

    def __enter__(self) -> SearchProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def on_trial_start(self, number, config, footprint) -> None:
        m = config.model
        self.progress.update(
            self.epochs,
            description=f"trial {number}",
            total=config.train.epochs,
            completed=0,
            visible=True,
            info=f"{m.name} · RAM {format_bytes(footprint.ram_bytes)}",
        )

    def on_infeasible(self, number, config, violations) -> None:
        worst = max(violations, key=lambda v: v.excess)
        self.console.print(f"[yellow]trial {number}[/] {config.model.name}: infeasible, {worst.describe()} (not trained)")
        self.progress.advance(self.trials)

    def on_epoch(self, number, epoch, max_epochs, metrics) -> None:
        acc = metrics.get("val_acc")
        info = f"val acc {100 * acc:.1f}%" if acc is not None else ""
        self.progress.update(self.epochs, completed=epoch + 1, info=info)

    def on_trial_end(self, number, result, error) -> None:
        self.progress.update(self.epochs, visible=False)
        self.progress.advance(self.trials)
        if error == "pruned":
            self.console.print(f"[blue]trial {number}[/] pruned (behind the median at this epoch)")
        elif error:
            self.console.print(f"[red]trial {number} failed:[/] {escape(error)}")
        elif result is not None:
            self.console.print(
                f"[green]trial {number}[/] val acc "
                f"{100 * result.val_accuracy:.1f}% (best epoch {result.best_epoch + 1}/{result.epochs_run}, "
                f"{result.seconds:.0f}s)"
            )
