"""`kwsauto search`, `train`, `leaderboard`, `export`: the commands that make and read runs."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape

from kwsauto.cli._options import dataset_options, hardware_request


def cmd_search(args: argparse.Namespace, console: Console) -> int:
    from kwsauto._api import run_search
    from kwsauto.device import Budget
    from kwsauto.report import SearchProgress, best_panel, class_metrics_table, leaderboard_table
    from kwsauto.search import SearchSettings
    from kwsauto.units import parse_bytes, parse_duration_s

    given = {
        "device": args.device,
        "space": args.space,
        "n_trials": args.trials,
        "time_limit_s": parse_duration_s(args.time_limit, "--time-limit") if args.time_limit else None,
        "out": args.out,
        "study_name": args.study,
        "seed": args.seed,
        "sampler": args.sampler,
        "pruner": args.pruner,
        "objective": args.objective,
        "metric": args.metric,
        "workers": args.workers,
        "storage": args.storage,
        "enqueue": args.enqueue,
        "pretrained": args.pretrained,
        "expert": args.expert,
        "reselect": args.reselect,
        "reselect_seeds": args.reselect_seeds,
    }
    settings = SearchSettings(
        data=args.data,
        budget=Budget(
            ram_bytes=parse_bytes(args.budget, "--budget") if args.budget else None,
            flash_bytes=parse_bytes(args.flash, "--flash") if args.flash else None,
            latency_ms=args.latency,
        ),
        seeds=not args.no_seeds,
        refit=not args.no_refit,
        dataset=dataset_options(args),
        **{name: value for name, value in given.items() if value is not None},  # the rest: SearchSettings' defaults
        hardware=hardware_request(args),
    )
    if args.data is None:
        console.print("[dim]No data folder given: the built-in demo dataset (synthetic espeak-ng voices) and the quick "
                      "search space (small MobileNetV1s fine-tuned from kwsauto's pretrained backbones).[/]")
    with SearchProgress(console, settings.trial_limit, settings.time_limit_s) as progress:
        result = run_search(settings, progress, verbose=args.debug)
    compact = console.width < 110
    console.print(leaderboard_table(result.rows, top=10, title=f"Leaderboard · {result.study_name}", compact=compact,
                                    show_all=_show_all))
    if result.pareto is not None:
        console.print(leaderboard_table(result.pareto, top=None, title="Pareto front (accuracy vs RAM and latency)", compact=compact))
        console.print(f"[dim]{escape(str(result.run.path / 'pareto.csv'))}, {escape(str(result.run.path / 'pareto.png'))}[/]")
    if result.card is not None:
        metrics = result.card.metrics
        console.print(class_metrics_table(metrics.test_per_class, metrics.test_accuracy, metrics.test_macro_f1,
                                          title="Chosen model · test split, per class"))
        console.print(best_panel(result.card, result.run.path))
        if args.calibrate:
            from kwsauto.cli._streaming import run_calibration

            run_calibration(result.run.path, args, console)
    else:
        console.print("[yellow]No trial finished within the budget; nothing was exported.[/]")
    console.print(f"Run folder: {escape(str(result.run.path))}")
    return result.exit_code


def cmd_train(args: argparse.Namespace, console: Console) -> int:
    from kwsauto._api import load_trial_config, train
    from kwsauto.report import DataProgress, class_metrics_table, confusion_table

    config = load_trial_config(args.config, args.pretrained)
    start = {False: "from scratch", True: "from the shipped pretrained backbone"}.get(
        config.model.pretrained, f"from {config.model.pretrained}"
    )
    console.print(f"Training {config.model.name} {start} for up to {config.train.epochs} epochs …")

    def on_epoch(epoch, max_epochs, metrics):
        acc = metrics.get("val_acc")
        console.print(f"  epoch {epoch + 1}/{max_epochs}  val acc {100 * acc:.1f}%" if acc is not None else "")

    with DataProgress(console) as data_progress:
        outcome = train(args.data, config, expert=args.expert, dataset=dataset_options(args), listener=on_epoch,
                        hardware=hardware_request(args), data_progress=data_progress)
    result = outcome.result
    test = result.test
    console.print(class_metrics_table(test.per_class, test.accuracy, test.macro_f1, title="Test split, per class"))
    console.print(confusion_table(result.test.labels, result.test.confusion))
    demo = " (synthetic demo voices)" if args.data is None else ""
    console.print(
        f"[bold]test accuracy {100 * result.test.accuracy:.1f}%[/]{demo} · validation {100 * result.val_accuracy:.1f}% "
        f"(best epoch {result.best_epoch + 1} of {result.epochs_run}) · {result.seconds:.0f}s "
        f"on {result.hardware.label} ({result.hardware.name}, precision {result.hardware.precision})"
    )
    return 0


def cmd_leaderboard(args: argparse.Namespace, console: Console) -> int:
    from kwsauto._api import load_run
    from kwsauto.report import best_panel, leaderboard_table

    run = load_run(args.run_dir, storage=args.storage)
    sort = {"sort": args.sort} if args.sort is not None else {}  # None: Run.leaderboard's and the table's defaults
    rows = run.leaderboard(**sort, feasible_only=args.feasible)
    top = {"top": args.top} if args.top is not None else {}
    console.print(leaderboard_table(rows, **top, title=f"Leaderboard · {run.settings.study}", compact=console.width < 110,
                                    show_all=_show_all))
    if run.card is not None:
        console.print(best_panel(run.card, run.path))
    return 0


def _show_all(n_rows: int) -> str:
    return f"kwsauto leaderboard RUN_DIR --top {n_rows}"


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from kwsauto._api import export_run
    from kwsauto.report import best_panel

    out, card = export_run(args.run_dir, args.trial, **({"formats": args.format} if args.format else {}))
    console.print(best_panel(card, out.parent if out.name == "best" else out, files_dir=out))
    return 0
