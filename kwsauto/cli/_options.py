"""Exit codes, the dataset options shared by `search` and `train`, and the hardware options of every training command."""

from __future__ import annotations

import argparse

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_USER_ERROR",
    "add_dataset_options",
    "add_hardware_options",
    "dataset_options",
    "hardware_request",
]

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def add_dataset_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("dataset")
    g.add_argument("--keywords", help="comma-separated keywords; every other label becomes 'unknown'")
    g.add_argument("--noise-class", action="store_true", help="add a 'noise' class cut from background recordings")
    g.add_argument("--speaker-pattern", action="append", help="regex with a (?P<speaker>...) group (repeatable)")
    g.add_argument("--strict", action="store_true", help="fail on a file that is not audio instead of skipping it")


def dataset_options(args: argparse.Namespace):
    from kwsauto.data import DEFAULT_SPEAKER_PATTERNS, DatasetOptions

    return DatasetOptions(
        speaker_patterns=tuple(args.speaker_pattern or DEFAULT_SPEAKER_PATTERNS),
        keywords=tuple(k.strip() for k in args.keywords.split(",")) if args.keywords else None,
        noise_class=args.noise_class,
        strict=args.strict,
    )


def add_hardware_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("hardware")  # the choices are checked by kwsauto.training.HardwareRequest
    g.add_argument("--accelerator", default="auto", help="auto|cpu|gpu: where to train and compute features "
                   "(default auto: a CUDA GPU when torch sees one, else Apple MPS, else the CPU)")
    g.add_argument("--precision", default="32", help="32|16-mixed|bf16-mixed: training precision (default 32; "
                   "16-mixed needs a GPU)")


def hardware_request(args: argparse.Namespace):
    from kwsauto.training import HardwareRequest

    return HardwareRequest(accelerator=args.accelerator, precision=args.precision)
