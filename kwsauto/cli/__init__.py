"""The ``kwsauto`` command: argument parsing, the console and exit codes over the Python API.

A user error prints one line and exits with 2 (the traceback only with ``--debug``); Ctrl-C exits with 130 and
SIGTERM, treated the same way, with 143.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from kwsauto import __version__
from kwsauto._interrupt import exit_code_of, raising_on_stop_signals
from kwsauto._redact import redact
from kwsauto.cli._models import cmd_devices, cmd_firmware, cmd_models, cmd_predict, cmd_profile
from kwsauto.cli._options import EXIT_INTERRUPTED, EXIT_USER_ERROR, add_dataset_options, add_hardware_options
from kwsauto.cli._pretrain import add_pretrain_parser, cmd_pretrain
from kwsauto.cli._reports import cmd_benchmark, cmd_report, cmd_summary
from kwsauto.cli._runs import cmd_export, cmd_leaderboard, cmd_search, cmd_train
from kwsauto.cli._streaming import add_calibration_options, add_streaming_parsers, cmd_calibrate, cmd_stream
from kwsauto.errors import KwsautoError

__all__ = ["main", "build_parser", "EXIT_USER_ERROR", "EXIT_INTERRUPTED"]

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kwsauto", description="Keyword-spotting AutoML for microcontrollers, offline on your laptop."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--version", action="version", version=f"kwsauto {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("search", help="search for the most accurate model that fits the budget")
    s.add_argument("data", nargs="?", type=Path, help="dataset folder (default: the built-in demo dataset)")
    s.add_argument("--budget", help="RAM budget for TFLM arena + DSP, e.g. 64KB (default: the device's RAM)")
    s.add_argument("--flash", help="flash budget, e.g. 512KB (default: the device's flash)")
    s.add_argument("--latency", type=float, help="latency budget per 1 s window, in ms")
    s.add_argument("--device", help="target device (see `kwsauto devices`; default cortex-m4f-80mhz)")
    s.add_argument("--trials", type=int, help="trained trials in the study, counting earlier runs; rejected infeasible "
                   "ones do not count (default: until --time-limit, or 20 without one)")
    s.add_argument("--time-limit", help="wall-clock budget for this invocation, final export included, e.g. 15m or 1h; "
                   "with --trials, whichever comes first")
    s.add_argument("--space", help="search space: built-in name or YAML file (default: 'default'; 'quick' for the demo)")
    s.add_argument("--out", type=Path, help="run folder (default: runs/<study>)")
    s.add_argument("--study", help="study name (default: the data folder's name, or 'demo')")
    s.add_argument("--seed", type=int, help="sampler seed (default 0)")
    s.add_argument("--sampler", help="Optuna sampler: tpe (default), random, nsga2")
    s.add_argument("--pruner", help="median (default), hyperband or none")
    s.add_argument("--objective", help="accuracy (default) or pareto (accuracy vs RAM and latency)")
    s.add_argument("--metric", help="validation metric to maximize: accuracy (default) or macro_f1")
    s.add_argument("--workers", type=int, help="trial processes on this machine sharing the study (default 1)")
    s.add_argument("--storage", help="shared study storage, e.g. postgresql://user@host/db (default: the run folder)")
    s.add_argument("--enqueue", type=Path, help="YAML/JSON parameter sets, a card.json or a run folder to try first")
    s.add_argument("--no-seeds", action="store_true", help="skip the built-in space's known-good first configurations")
    s.add_argument("--reselect", type=int, metavar="N", help="before the final choice, retrain the N best trials by "
                   "validation with new seeds and choose by the mean (default 3; 0: the best trial as it is)")
    s.add_argument("--reselect-seeds", type=int, metavar="K", help="new seeds per re-selected trial (default 2)")
    s.add_argument("--no-refit", action="store_true", help="export the chosen trial's own weights instead of training "
                   "its configuration again on train+val")
    s.add_argument("--expert", type=Path, help="Python file of expert-mode training hooks")
    s.add_argument("--pretrained", help="backbone checkpoint every trial starts from (a `kwsauto pretrain` .safetensors, "
                   "a torch state dict, or 'imagenet' for torchvision's MobileNetV2 file); pins its model and features")
    s.add_argument("--calibrate", action="store_true",
                   help="after the search, calibrate the chosen model's streaming detection (see kwsauto calibrate)")
    add_calibration_options(s, with_data=False)
    add_dataset_options(s)
    add_hardware_options(s)

    t = sub.add_parser("train", help="train one configuration, print test accuracy and the confusion matrix")
    t.add_argument("data", nargs="?", type=Path, help="dataset folder (default: the built-in demo dataset)")
    t.add_argument("--config", type=Path, help="YAML with features/model/train sections (fixed values)")
    t.add_argument("--expert", type=Path, help="Python file of expert-mode training hooks")
    t.add_argument("--pretrained", nargs="?", const=True, default=None,
                   help="start from the shipped backbone of the config's model, or from this checkpoint file")
    add_dataset_options(t)
    add_hardware_options(t)

    lb = sub.add_parser("leaderboard", help="reprint a search's leaderboard from its study")
    lb.add_argument("run_dir", type=Path)
    lb.add_argument("--top", type=int, help="trials shown (default 10)")
    lb.add_argument("--sort", help="val_accuracy (default), test_accuracy, ram_bytes, flash_bytes, latency_ms, number, seconds")
    lb.add_argument("--feasible", action="store_true", help="only trained trials that fit the budget")
    lb.add_argument("--storage", help="the study's storage URL when it is not the run folder's journal")

    e = sub.add_parser("export", help="export a trial of a search (default: the best) and verify it in TFLM")
    e.add_argument("run_dir", type=Path)
    e.add_argument("--trial", type=int, help="trial number (default: the best feasible trial)")
    e.add_argument("--format", help="comma-separated: tflite, onnx, c (default: all)")

    pr = sub.add_parser("predict", help="top-k labels of audio files with an exported .tflite or .onnx model")
    pr.add_argument("model", type=Path)
    pr.add_argument("files", type=Path, nargs="+")
    pr.add_argument("--top", type=int, help="labels per file (default 3)")

    pf = sub.add_parser("profile", help="run a .tflite in TFLite Micro: measured arena, flash, estimated latency")
    pf.add_argument("model", type=Path)
    pf.add_argument("--device", help="device to estimate for (default: the run's, else cortex-m4f-80mhz)")

    fw = sub.add_parser("firmware", help="write the C front end, kws_model_settings.h and a host example for a .tflite")
    fw.add_argument("model", type=Path, help="a kwsauto int8 .tflite (its metadata holds labels and features)")
    fw.add_argument("--out", type=Path, help="folder for the C files (default: beside the model)")
    fw.add_argument("--device", help="device the arena is sized for (default: the run's, else cortex-m4f-80mhz)")

    sub.add_parser("devices", help="list the device profiles")
    m = sub.add_parser("models", help="every backbone with its footprint on a device")
    m.add_argument("--device", help="device (default cortex-m4f-80mhz)")
    m.add_argument("--budget", help="mark the models whose RAM fits, e.g. 64KB")
    m.add_argument("--classes", type=int, help="number of classes for the head (default 12)")
    b = sub.add_parser("benchmark", help="test accuracy per runtime, footprint on every device, measured host latency")
    b.add_argument("target", type=Path, help="run folder, trial folder (RUN/trials/0003), or .tflite/.onnx with its card.json")
    b.add_argument("--trial", type=int, help="trial of the run (default: the chosen model)")
    b.add_argument("--top", type=int, help="benchmark the N best trials of the run side by side")
    b.add_argument("--budget", help="RAM budget to check every device against, e.g. 64KB (default: the run's budget)")
    b.add_argument("--flash", help="flash budget, e.g. 512KB (any of --budget/--flash/--latency replaces the run's budget)")
    b.add_argument("--latency", type=float, help="latency budget per 1 s window, in ms")
    b.add_argument("--data", type=Path, help="dataset folder of the test split (default: the one run.json or card.json names)")
    b.add_argument("--repeats", type=int, help="timed runs per latency stage, after 10 warm-up runs (default 100)")
    b.add_argument("--json", type=Path, help="also write the numbers to this JSON file (for CI)")
    b.add_argument("--storage", help="the study's storage URL when it is not the run folder's journal")

    su = sub.add_parser("summary", help="a model layer by layer: op, shape, params, MACs, activations, peak RAM")
    su.add_argument("target", type=Path, help=".tflite model, run folder (its chosen model) or trial folder")
    su.add_argument("--trial", type=int, help="trial of the run (default: the chosen model)")
    su.add_argument("--device", help="device whose memory plan marks the peak (default: the run's, else cortex-m4f-80mhz)")
    su.add_argument("--storage", help="the study's storage URL when it is not the run folder's journal")

    add_pretrain_parser(sub)
    add_streaming_parsers(sub)

    rp = sub.add_parser("report", help="write report.html (self-contained) and report.md of a run, with PNG plots")
    rp.add_argument("run_dir", type=Path)
    rp.add_argument("--out", type=Path, help="folder for report.html, report.md and plots/ (default: the run folder)")
    rp.add_argument("--storage", help="the study's storage URL when it is not the run folder's journal")
    return parser


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    _tame_openmp_spinning()
    try:
        return _run(list(sys.argv[1:] if argv is None else argv), console or Console())
    except KeyboardInterrupt as exc:  # at any point, parsing and the seconds Lightning takes to load included
        Console(stderr=True).print("interrupted")
        return exit_code_of(exc)


def _run(argv: list[str], console: Console) -> int:
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        with raising_on_stop_signals():
            _configure_logging(args.debug)  # imports Lightning: seconds in which SIGTERM must act as Ctrl-C too
            return _COMMANDS[args.command](args, console)
    except KwsautoError as exc:
        if args.debug:
            raise
        # user text (labels, paths) is not Rich markup, and no message may carry a password
        Console(stderr=True).print(f"[red]error:[/] {escape(redact(_in_flags(exc)))}", highlight=False, soft_wrap=True)
        return EXIT_USER_ERROR


# a settings field → the flag that sets it, where the two names differ
_FLAGS = {"n_trials": "--trials", "time_limit_s": "--time-limit", "study_name": "--study", "models": "--model", "top_k": "--top",
          "ram_bytes": "--budget", "flash_bytes": "--flash", "latency_ms": "--latency", "speaker_patterns": "--speaker-pattern"}
_NAMED_FIELD = re.compile(r"`([a-z][a-z0-9_]*)`")  # a field named inside an API message (see KwsautoError)


def _flag(field: str) -> str:
    return _FLAGS.get(field, "--" + field.replace("_", "-"))


def _in_flags(exc: KwsautoError) -> str:
    """The API's message with the settings fields it names (first, or in backticks) named as the CLI's flags."""
    message, field = str(exc), getattr(exc, "field", None)
    if field and message.startswith(field):
        message = _flag(field) + message[len(field):]
    return _NAMED_FIELD.sub(lambda m: _flag(m.group(1)), message)


def _tame_openmp_spinning() -> None:
    """Make torch's OpenMP threads sleep sooner when idle, unless the user chose otherwise.

    libgomp's idle threads spin up to 300,000 times before sleeping; beside another busy process on a 2-core laptop
    that made training 65x slower, while 20,000 spins cost nothing when alone (``benchmarks/cpu_contention.py``).
    It must be set before torch loads libgomp, which the command does only later.
    """
    os.environ.setdefault("GOMP_SPINCOUNT", "20000")


def _configure_logging(debug: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import lightning.pytorch  # noqa: F401  (sets its loggers' levels on import; ours must come after)

    from kwsauto._quiet import NOISY_LOGGERS

    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.ERROR)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.DEBUG if debug else optuna.logging.WARNING)
    if not debug:
        warnings.filterwarnings("ignore")


_COMMANDS = {
    "search": cmd_search,
    "train": cmd_train,
    "leaderboard": cmd_leaderboard,
    "export": cmd_export,
    "predict": cmd_predict,
    "profile": cmd_profile,
    "firmware": cmd_firmware,
    "benchmark": cmd_benchmark,
    "summary": cmd_summary,
    "report": cmd_report,
    "devices": cmd_devices,
    "models": cmd_models,
    "pretrain": cmd_pretrain,
    "stream": cmd_stream,
    "calibrate": cmd_calibrate,
}


if __name__ == "__main__":
    sys.exit(main())
