"""The proxy tasks of the search-quality benchmarks, built from Arabic Speech Commands' official speaker split.

* ``kws12``: shaped like a Speech Commands task: ten of its words as keywords, every other word ``unknown``, plus a
  ``noise`` class cut from the dataset's background recordings (12 classes);
* ``full40``: all 40 words.

Both keep the dataset's speaker-disjoint train / val / test CSVs (18 / 6 / 6 speakers).
"""

from __future__ import annotations

from pathlib import Path

from kwsauto.data import ClipIndex, DatasetOptions, load_dataset

__all__ = ["DEFAULT_DATA", "KWS12_KEYWORDS", "TASKS", "dataset_options", "load_task"]

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arabic-speech-commands"
KWS12_KEYWORDS = ("yes", "no", "up", "down", "left", "right", "open", "close", "stop", "start")
TASKS = ("kws12", "full40")


def dataset_options(task: str) -> DatasetOptions:
    if task == "kws12":
        return DatasetOptions(keywords=KWS12_KEYWORDS, noise_class=True)
    if task == "full40":
        return DatasetOptions()
    raise ValueError(f"Unknown proxy task {task!r}; choose from {TASKS}.")


def cli_flags(task: str) -> list[str]:
    """The `kwsauto search` flags that select ``task`` from the data folder."""
    if task == "kws12":
        return ["--keywords", ",".join(KWS12_KEYWORDS), "--noise-class"]
    dataset_options(task)
    return []


def load_task(task: str, data: Path = DEFAULT_DATA) -> ClipIndex:
    return load_dataset(data, dataset_options(task))
