"""Exit codes and the dataset options shared by `search` and `train`."""

from __future__ import annotations

import argparse

__all__ = ["EXIT_USER_ERROR", "EXIT_INTERRUPTED", "add_dataset_options", "dataset_options"]

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
