"""The ``kwsauto`` command: argument parsing, the console and exit codes over the Python API.

A user error prints one line and exits with 2 (the traceback only with ``--debug``); Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from kwsauto.errors import KwsautoError

__all__ = ["main", "build_parser"]

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kwsauto", description="Keyword-spotting AutoML for microcontrollers, offline on your laptop."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("search", help="search for the most accurate model that fits the budget")
    s.add_argument("data", nargs="?", type=Path, help="dataset folder (default: the built-in demo dataset)")
    s.add_argument("--budget", help="RAM budget for TFLM arena + DSP, e.g. 64KB (default: the device's RAM)")
    s.add_argument("--flash", help="flash budget, e.g. 512KB (default: the device's flash)")
    s.add_argument("--latency", type=float, help="latency budget per 1 s window, in ms")
    s.add_argument("--device", default="cortex-m4f-80mhz", help="target device (see `kwsauto devices`)")
    s.add_argument("--trials", type=int, default=20, help="trials in the study, counting earlier runs (default 20)")
    s.add_argument("--time-limit", help="wall-clock limit for this invocation, e.g. 15m or 1h")
    s.add_argument("--space", default="default", help="search space: built-in name or YAML file (default: default)")
    s.add_argument("--out", type=Path, help="run folder (default: runs/<study>)")
    s.add_argument("--study", help="study name (default: the data folder's name, or 'demo')")
    s.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    s.add_argument("--sampler", default="tpe", help="Optuna sampler: tpe (default), random, nsga2")
    s.add_argument("--pruner", default="median", help="median (default), hyperband or none")
    s.add_argument("--objective", default="accuracy", help="accuracy (default) or pareto (accuracy vs RAM and latency)")
    s.add_argument("--metric", default="accuracy", help="validation metric to maximize: accuracy (default) or macro_f1")
    s.add_argument("--workers", type=int, default=1, help="trial processes on this machine sharing the study")
    s.add_argument("--storage", help="shared study storage, e.g. postgresql://user@host/db (default: the run folder)")
    s.add_argument("--enqueue", type=Path, help="YAML/JSON parameter sets, a card.json or a run folder to try first")
    s.add_argument("--expert", type=Path, help="Python file of expert-mode training hooks")
    _add_dataset_options(s)

    t = sub.add_parser("train", help="train one configuration, print test accuracy and the confusion matrix")
    t.add_argument("data", nargs="?", type=Path, help="dataset folder (default: the built-in demo dataset)")
    t.add_argument("--config", type=Path, help="YAML with features/model/train sections (fixed values)")
    t.add_argument("--expert", type=Path, help="Python file of expert-mode training hooks")
    _add_dataset_options(t)

    lb = sub.add_parser("leaderboard", help="reprint a search's leaderboard from its study")
    lb.add_argument("run_dir", type=Path)
    lb.add_argument("--top", type=int, default=10)
    lb.add_argument("--sort", default="val_accuracy", help="val_accuracy, test_accuracy, ram_bytes, flash_bytes, latency_ms, number, seconds")
    lb.add_argument("--feasible", action="store_true", help="only trained trials that fit the budget")
    lb.add_argument("--storage", help="the study's storage URL when it is not the run folder's journal")

    e = sub.add_parser("export", help="export a trial of a search (default: the best) and verify it in TFLM")
    e.add_argument("run_dir", type=Path)
    e.add_argument("--trial", type=int, help="trial number (default: the best feasible trial)")
    e.add_argument("--format", default="tflite,onnx,c", help="comma-separated: tflite, onnx, c (default: all)")

    pr = sub.add_parser("predict", help="top-k labels of audio files with an exported .tflite or .onnx model")
    pr.add_argument("model", type=Path)
    pr.add_argument("files", type=Path, nargs="+")
    pr.add_argument("--top", type=int, default=3)

    pf = sub.add_parser("profile", help="run a .tflite in TFLite Micro: measured arena, flash, estimated latency")
    pf.add_argument("model", type=Path)
    pf.add_argument("--device", default="cortex-m4f-80mhz")

    sub.add_parser("devices", help="list the device profiles")
    m = sub.add_parser("models", help="every backbone with its footprint on a device")
    m.add_argument("--device", default="cortex-m4f-80mhz")
    m.add_argument("--budget", help="mark the models whose RAM fits, e.g. 64KB")
    m.add_argument("--classes", type=int, default=12, help="number of classes for the head (default 12)")
    b = sub.add_parser("benchmark", help="test accuracy per runtime, footprint on every device, measured host latency")
    b.add_argument("target", type=Path, help="run folder, trial folder (RUN/trials/0003), or .tflite/.onnx with its card.json")
    b.add_argument("--trial", type=int, help="trial of the run (default: the chosen model)")
    b.add_argument("--top", type=int, help="benchmark the N best trials of the run side by side")
    b.add_argument("--budget", help="RAM budget to check every device against, e.g. 64KB (default: the run's budget)")
    b.add_argument("--flash", help="flash budget, e.g. 512KB (any of --budget/--flash/--latency replaces the run's budget)")
    b.add_argument("--latency", type=float, help="latency budget per 1 s window, in ms")
    b.add_argument("--data", type=Path, help="dataset folder of the test split (default: the one run.json or card.json names)")
    b.add_argument("--repeats", type=int, default=100, help="timed runs per latency stage, after 10 warm-up runs (default 100)")
    b.add_argument("--json", type=Path, help="also write the numbers to this JSON file (for CI)")
    b.add_argument("--storage", help="the study's storage URL when it is not the run folder's journal")

    su = sub.add_parser("summary", help="a model layer by layer: op, shape, params, MACs, activations, peak RAM")
    su.add_argument("target", type=Path, help=".tflite model, run folder (its chosen model) or trial folder")
    su.add_argument("--trial", type=int, help="trial of the run (default: the chosen model)")
    su.add_argument("--device", default="cortex-m4f-80mhz", help="device whose memory plan marks the peak (default cortex-m4f-80mhz)")
    su.add_argument("--storage", help="the study's storage URL when it is not the run folder's journal")

    rp = sub.add_parser("report", help="write report.html (self-contained) and report.md of a run, with PNG plots")
    rp.add_argument("run_dir", type=Path)
    rp.add_argument("--out", type=Path, help="folder for report.html, report.md and plots/ (default: the run folder)")
    rp.add_argument("--storage", help="the study's storage URL when it is not the run folder's journal")
    return parser


def _add_dataset_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("dataset")
    g.add_argument("--keywords", help="comma-separated keywords; every other label becomes 'unknown'")
    g.add_argument("--noise-class", action="store_true", help="add a 'noise' class cut from background recordings")
    g.add_argument("--speaker-pattern", action="append", help="regex with a (?P<speaker>...) group (repeatable)")
    g.add_argument("--strict", action="store_true", help="fail on a file that is not audio instead of skipping it")


def _dataset_options(args: argparse.Namespace):
    from kwsauto.data import DEFAULT_SPEAKER_PATTERNS, DatasetOptions

    return DatasetOptions(
        speaker_patterns=tuple(args.speaker_pattern or DEFAULT_SPEAKER_PATTERNS),
        keywords=tuple(k.strip() for k in args.keywords.split(",")) if args.keywords else None,
        noise_class=args.noise_class,
        strict=args.strict,
    )


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = console or Console()
    _configure_logging(args.debug)
    try:
        return _COMMANDS[args.command](args, console)
    except KwsautoError as exc:
        if args.debug:
            raise
        Console(stderr=True).print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        return EXIT_INTERRUPTED


def _configure_logging(debug: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import lightning.pytorch  # noqa: F401  (sets its loggers' levels on import; ours must come after)

    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "torch", "onnxruntime", "onnxscript"):
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.ERROR)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.DEBUG if debug else optuna.logging.WARNING)
    if not debug:
        warnings.filterwarnings("ignore")


def _cmd_search(args: argparse.Namespace, console: Console) -> int:
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
        space=args.space,
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
        dataset=_dataset_options(args),
        expert=args.expert,
    )
    if args.data is None:
        console.print("[dim]No data folder given: using the built-in demo dataset (synthetic espeak-ng voices).[/]")
    with SearchProgress(console, args.trials) as progress:
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


def _cmd_train(args: argparse.Namespace, console: Console) -> int:
    from kwsauto._api import load_trial_config, train
    from kwsauto.report import class_metrics_table, confusion_table

    config = load_trial_config(args.config)
    console.print(f"Training {config.model.name} for up to {config.train.epochs} epochs …")

    def on_epoch(epoch, max_epochs, metrics):
        acc = metrics.get("val_acc")
        console.print(f"  epoch {epoch + 1}/{max_epochs}  val acc {100 * acc:.1f}%" if acc is not None else "")

    outcome = train(args.data, config, expert=args.expert, dataset=_dataset_options(args), listener=on_epoch)
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


def _cmd_leaderboard(args: argparse.Namespace, console: Console) -> int:
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


def _cmd_devices(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from kwsauto.device import DEFAULT_DEVICE, list_devices
    from kwsauto.units import format_bytes

    table = Table(title="Devices")
    for col in ("name", "clock", "RAM", "flash", "description"):
        table.add_column(col)
    for d in list_devices():
        name = d.name + (" (default)" if d.name == DEFAULT_DEVICE else "")
        table.add_row(name, f"{d.clock_hz / 1e6:.0f} MHz", format_bytes(d.ram_bytes), format_bytes(d.flash_bytes), d.description)
    console.print(table)
    return 0


def _cmd_models(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from kwsauto.device import get_device
    from kwsauto.features import FeatureConfig
    from kwsauto.models import ModelSpec, list_models, resolve
    from kwsauto.search._feasibility import footprint_of
    from kwsauto.training import TrialConfig
    from kwsauto.units import format_bytes, parse_bytes

    device = get_device(args.device)
    budget = parse_bytes(args.budget) if args.budget else device.ram_bytes
    table = Table(title=f"Models on {device.name} (MFE 49x40, {args.classes} classes)")
    for col in ("model", "params", "MACs", "RAM", "flash", "latency", "fits"):
        table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    features = FeatureConfig(frame_stride_s=0.02)
    labels = tuple(f"class{i}" for i in range(args.classes))
    for name in list_models():
        entry = resolve(name)
        f = footprint_of(TrialConfig(features, ModelSpec(entry.arch, entry.width)), labels, device)
        fits = f.ram_bytes <= budget and f.flash_bytes <= device.flash_bytes
        table.add_row(
            name, f"{f.params:,}", f"{f.macs / 1e6:.2f} M", format_bytes(f.ram_bytes), format_bytes(f.flash_bytes),
            f"{f.latency_ms:.0f} ms", "[green]yes[/]" if fits else "[red]no[/]",
        )
    console.print(table)
    return 0


def _cmd_export(args: argparse.Namespace, console: Console) -> int:
    from kwsauto._api import export_run
    from kwsauto.report import best_panel

    out, card = export_run(args.run_dir, args.trial, args.format)
    console.print(best_panel(card, out.parent if out.name == "best" else out, files_dir=out))
    return 0


def _cmd_predict(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from kwsauto.errors import DataError
    from kwsauto.export._predict import predict_files

    for path in args.files:
        if not path.is_file():
            raise DataError(f"Audio file {path} does not exist.")
    table = Table(title=f"Predictions · {args.model.name}")
    table.add_column("file")
    for k in range(args.top):
        table.add_column(f"#{k + 1}")
    for p in predict_files(args.model, args.files, top_k=args.top):
        table.add_row(str(p.path), *(f"{label} {score:.2f}" for label, score in p.top))
    console.print(table)
    return 0


def _cmd_profile(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from kwsauto.device import estimate_footprint, get_device
    from kwsauto.export import tflm_arena_usage
    from kwsauto.export._predict import load_model_info
    from kwsauto.export._tflite_reader import read_int8_graph
    from kwsauto.features import FeatureConfig
    from kwsauto.units import format_bytes

    device = get_device(args.device)
    graph = read_int8_graph(args.model)
    usage = tflm_arena_usage(args.model)
    try:
        labels, features = load_model_info(args.model)
    except KwsautoError:
        labels, features = (), FeatureConfig()
    estimate = estimate_footprint(graph, features, device, labels)
    table = Table(title=f"{args.model.name} on {device.name}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("TFLM arena, measured", f"{format_bytes(usage.used_bytes)} (head {format_bytes(usage.head_bytes)}, tail {format_bytes(usage.tail_bytes)})")
    table.add_row("TFLM arena, estimated for device", format_bytes(estimate.arena_bytes))
    table.add_row("DSP RAM", format_bytes(estimate.dsp_ram_bytes))
    table.add_row("flash: model + kernels", f"{format_bytes(args.model.stat().st_size)} + {format_bytes(estimate.code_bytes)}")
    table.add_row("MACs / params", f"{graph.macs / 1e6:.2f} M / {graph.params:,}")
    table.add_row("latency (DSP + inference)", f"{estimate.latency_ms:.1f} ms ({estimate.dsp_ms:.1f} + {estimate.inference_ms:.1f})")
    console.print(table)
    console.print("[dim]Measured with the tflite-micro package (64-bit host build, reference kernels); the device "
                  "estimate uses the target's pointer size and CMSIS-NN scratch buffers.[/]")
    return 0


def _cmd_benchmark(args: argparse.Namespace, console: Console) -> int:
    from kwsauto.device import Budget
    from kwsauto.report import benchmark, benchmark_view, write_benchmark_json
    from kwsauto.units import parse_bytes

    budget = None
    if args.budget or args.flash or args.latency:
        budget = Budget(
            ram_bytes=parse_bytes(args.budget) if args.budget else None,
            flash_bytes=parse_bytes(args.flash) if args.flash else None,
            latency_ms=args.latency,
        )
    report = benchmark(
        args.target, trial=args.trial, top=args.top, budget=budget, data=args.data, repeats=args.repeats,
        storage=args.storage,
    )
    console.print(benchmark_view(report))
    if args.json:
        console.print(f"Wrote {write_benchmark_json(report, args.json)}")
    return 0


def _cmd_summary(args: argparse.Namespace, console: Console) -> int:
    from kwsauto.report import summarize, summary_table

    summary = summarize(args.target, trial=args.trial, device=args.device, storage=args.storage)
    console.print(summary_table(summary))
    for note in summary.notes:
        console.print(f"[yellow]{note}[/]", highlight=False)
    return 0


def _cmd_report(args: argparse.Namespace, console: Console) -> int:
    from kwsauto.report import write_run_report

    files = write_run_report(args.run_dir, args.out, storage=args.storage)
    for name, why in files.plots.skipped.items():
        console.print(f"[dim]Plot {name} not drawn: {why}[/]", highlight=False)
    console.print(f"Wrote {files.html} and {files.markdown} ({len(files.plots.files)} plots in {files.html.parent / 'plots'})")
    return 0


_COMMANDS = {
    "search": _cmd_search,
    "train": _cmd_train,
    "leaderboard": _cmd_leaderboard,
    "export": _cmd_export,
    "predict": _cmd_predict,
    "profile": _cmd_profile,
    "benchmark": _cmd_benchmark,
    "summary": _cmd_summary,
    "report": _cmd_report,
    "devices": _cmd_devices,
    "models": _cmd_models,
}


if __name__ == "__main__":
    sys.exit(main())
