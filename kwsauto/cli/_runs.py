"""`kwsauto search`, `train`, `leaderboard`, `export`: the commands that make and read runs."""

from __future__ import annotations

import argparse

from rich.console import Console

from kwsauto.cli._options import EXIT_INTERRUPTED, dataset_options


def cmd_search(args: argparse.Namespace, console: Console) -> int:
    from kwsauto.device import Budget
    from kwsauto.report import SearchProgress, best_panel, class_metrics_table, leaderboard_table
    from kwsauto.search import SearchSettings, run_search
    from kwsauto.units import parse_bytes, parse_duration_s

    settings = SearchSettings(
        data=args.data,
        budget=Budget(
            ram_bytes=parse_bytes(args.budget) if args.budget else None,
            flash_bytes=parse_bytes(args.flash) if args.flash else None,
            latency_ms=args.latency,
        ),
        device=args.device,
        space=args.space or ("quick" if args.data is None else "default"),
        n_trials=args.trials,
        time_limit_s=parse_duration_s(args.time_limit) if args.time_limit else None,
        out=args.out,
        study_name=args.study,
        seed=args.seed,
        sampler=args.sampler,
        pruner=args.pruner,
        objective=args.objective,
        metric=args.metric,
        workers=args.workers,
        storage=args.storage,
        enqueue=args.enqueue,
        seeds=not args.no_seeds,
        pretrained=args.pretrained,
        dataset=dataset_options(args),
        expert=args.expert,
    )
    if args.data is None:
        console.print("[dim]No data folder given: the built-in demo dataset (synthetic espeak-ng voices) and the quick "
                      "search space (small MobileNetV1s fine-tuned from kwsauto's pretrained backbones).[/]")
    with SearchProgress(console, settings.trial_limit, settings.time_limit_s) as progress:
        result = run_search(settings, progress)
    compact = console.width < 110
    console.print(leaderboard_table(result.rows, top=10, title=f"Leaderboard · {result.study_name}", compact=compact))
    if result.pareto is not None:
        console.print(leaderboard_table(result.pareto, top=None, title="Pareto front (accuracy vs RAM and latency)", compact=compact))
        console.print(f"[dim]{result.run.path / 'pareto.csv'}, {result.run.path / 'pareto.png'}[/]")
    if result.card is not None:
        console.print(class_metrics_table(
            {"per_class": result.card["metrics"]["test_per_class"], "accuracy": result.card["metrics"]["test_accuracy"],
             "macro_f1": result.card["metrics"]["test_macro_f1"]}, title="Chosen model · test split, per class"))
        console.print(best_panel(result.card, result.run.path))
    else:
        console.print("[yellow]No trial finished within the budget; nothing was exported.[/]")
    console.print(f"Run folder: {result.run.path}")
    return EXIT_INTERRUPTED if result.interrupted else 0


def cmd_train(args: argparse.Namespace, console: Console) -> int:
    from kwsauto._api import load_trial_config, train
    from kwsauto.report import class_metrics_table, confusion_table

    config = load_trial_config(args.config, args.pretrained)
    start = {False: "from scratch", True: "from the shipped pretrained backbone"}.get(
        config.model.pretrained, f"from {config.model.pretrained}"
    )
    console.print(f"Training {config.model.name} {start} for up to {config.train.epochs} epochs …")

    def on_epoch(epoch, max_epochs, metrics):
        acc = metrics.get("val_acc")
        console.print(f"  epoch {epoch + 1}/{max_epochs}  val acc {100 * acc:.1f}%" if acc is not None else "")

    outcome = train(args.data, config, expert=args.expert, dataset=dataset_options(args), listener=on_epoch)
    result = outcome.result
    metrics = result.test.to_dict()
    console.print(class_metrics_table(metrics, title="Test split, per class"))
    console.print(confusion_table(result.test.labels, result.test.confusion))
    demo = " (synthetic demo voices)" if args.data is None else ""
    console.print(
        f"[bold]test accuracy {100 * result.test.accuracy:.1f}%[/]{demo} · validation {100 * result.val_accuracy:.1f}% "
        f"(best epoch {result.best_epoch + 1} of {result.epochs_run}) · {result.seconds:.0f}s"
    )
    return 0


def cmd_leaderboard(args: argparse.Namespace, console: Console) -> int:
    from kwsauto._api import load_run
    from kwsauto.errors import ConfigError, did_you_mean
    from kwsauto.report import best_panel, leaderboard_table, sort_rows
    from kwsauto.search import SORT_KEYS

    if args.sort not in SORT_KEYS:
        raise ConfigError(f"Unknown sort key {args.sort!r}{did_you_mean(args.sort, SORT_KEYS)}; valid: {', '.join(SORT_KEYS)}.")
    summary = load_run(args.run_dir, storage=args.storage)
    rows = sort_rows(summary.rows, args.sort, feasible_only=args.feasible)
    console.print(leaderboard_table(rows, top=args.top, title=f"Leaderboard · {summary.settings['study']}", compact=console.width < 110))
    if summary.card is not None:
        console.print(best_panel(summary.card, summary.run.path))
    return 0


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from kwsauto._api import export_run
    from kwsauto.report import best_panel

    out, card = export_run(args.run_dir, args.trial, args.format)
    console.print(best_panel(card, out.parent if out.name == "best" else out, files_dir=out))
    return 0
