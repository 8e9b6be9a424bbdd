"""`kwsauto benchmark`, `summary`, `report`: what a model costs and why it was chosen."""

from __future__ import annotations

import argparse

from rich.console import Console


def cmd_benchmark(args: argparse.Namespace, console: Console) -> int:
    from kwsauto.device import Budget
    from kwsauto.evaluate import benchmark, write_benchmark_json
    from kwsauto.report import benchmark_view
    from kwsauto.units import parse_bytes

    budget = None
    if args.budget or args.flash or args.latency:
        budget = Budget(
            ram_bytes=parse_bytes(args.budget, "--budget") if args.budget else None,
            flash_bytes=parse_bytes(args.flash, "--flash") if args.flash else None,
            latency_ms=args.latency,
        )
    report = benchmark(
        args.target, trial=args.trial, top=args.top, budget=budget, data=args.data, storage=args.storage,
        **({"repeats": args.repeats} if args.repeats is not None else {}),
    )
    console.print(benchmark_view(report))
    if args.json:
        console.print(f"Wrote {write_benchmark_json(report, args.json)}")
    return 0


def cmd_summary(args: argparse.Namespace, console: Console) -> int:
    from kwsauto.evaluate import summarize
    from kwsauto.report import summary_table

    summary = summarize(args.target, trial=args.trial, device=args.device, storage=args.storage)
    console.print(summary_table(summary))
    for note in summary.notes:
        console.print(f"[yellow]{note}[/]", highlight=False)
    return 0


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from kwsauto.cli._reproduce import with_reproduce_command
    from kwsauto.report import build_run_report, write_report

    out = args.out or args.run_dir
    report = with_reproduce_command(build_run_report(args.run_dir, out / "plots", storage=args.storage))
    files = write_report(report, out)
    for name, why in files.plots.skipped.items():
        console.print(f"[dim]Plot {name} not drawn: {why}[/]", highlight=False)
    console.print(f"Wrote {files.html} and {files.markdown} ({len(files.plots.files)} plots in {files.html.parent / 'plots'})")
    from kwsauto.report._report_sections import streaming_summary
    from kwsauto.search import Run

    card = Run.open(args.run_dir, args.storage).card
    if card is not None and card.streaming is not None:
        console.print(f"Streaming: {streaming_summary(card.streaming)}", highlight=False)
    return 0
