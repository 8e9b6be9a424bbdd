"""Dataset layouts on disk, turned into a :class:`ClipIndex`.

Three layouts are recognized, in this order:

* **split CSVs**: ``train.csv`` (and ``val.csv``/``validation.csv``, ``test.csv``) with ``file,class``
  columns, paths relative to the folder (the Arabic Speech Commands layout). The split is the dataset's own.
* **Speech Commands**: a folder per label plus ``validation_list.txt``/``testing_list.txt``; the split is the
  lists'.
* **a folder per label** (or one flat folder whose file names carry the label, as FSDD's
  ``DIGIT_SPEAKER_INDEX``): split here, speakers disjoint.

Background-noise recordings are taken from ``_background_noise_/`` or ``background_noise/``.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from kwsauto.data._audio import AUDIO_SUFFIXES, probe_audio
from kwsauto.data._index import Clip, ClipIndex
from kwsauto.data._split import DEFAULT_SPEAKER_PATTERNS, speaker_of, speaker_split
from kwsauto.errors import DataError

__all__ = ["DatasetOptions", "load_dataset", "NOISE_LABEL", "UNKNOWN_LABEL"]

_LOGGER = logging.getLogger(__name__)
NOISE_LABEL = "noise"
UNKNOWN_LABEL = "unknown"
_NOISE_DIRS = ("_background_noise_", "background_noise")
_CSV_NAMES = {"train": ("train.csv",), "val": ("val.csv", "validation.csv", "valid.csv"), "test": ("test.csv",)}
_FLAT_LABEL_PATTERN = r"^(?P<label>[^_]+)_(?P<speaker>[^_]+)_\d+$"


@dataclass(frozen=True)
class DatasetOptions:
    """How to read a dataset folder.

    ``keywords``: when given, every other label becomes ``unknown``. ``noise_class`` adds a ``noise`` label
    cut from the background-noise recordings. ``strict`` makes a non-audio file fatal instead of skipped.
    """

    speaker_patterns: tuple[str, ...] = DEFAULT_SPEAKER_PATTERNS
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    seed: int = 0
    keywords: tuple[str, ...] | None = None
    noise_class: bool = False
    window_s: float = 1.0
    strict: bool = False

    def __post_init__(self) -> None:
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise DataError(f"{name} must be in [0, 1), but got {value!r}.")
        for pattern in self.speaker_patterns:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise DataError(f"Speaker pattern {pattern!r} is not a valid regex: {exc}.") from exc
            if "speaker" not in compiled.groupindex:
                raise DataError(
                    f"Speaker pattern {pattern!r} has no (?P<speaker>...) group; add one around the speaker id."
                )


def load_dataset(root: str | Path, options: DatasetOptions | None = None) -> ClipIndex:
    """Index the dataset in ``root``: clips, labels, split and background noise. No audio is decoded."""
    options = options or DatasetOptions()
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"Data folder {root} does not exist. Give the folder that holds your clips.")
    if not root.is_dir():
        raise DataError(f"Data path {root} is not a folder. Give the folder that holds your clips.")

    noise_files = _noise_files(root)
    skipped: list[tuple[Path, str]] = []
    if any((root / name).is_file() for name in _CSV_NAMES["train"]):
        clips, source = _from_csv(root, options, skipped), "csv"
    elif (root / "validation_list.txt").is_file() or (root / "testing_list.txt").is_file():
        clips, source = _from_lists(root, options, skipped), "lists"
    else:
        clips, source = _from_folders(root, options, skipped), "speaker"

    if skipped:
        first, reason = skipped[0]
        if options.strict:
            raise DataError(f"{first}: {reason}. Remove it, or run without `strict` to skip such files.")
        _LOGGER.warning("Skipped %d file(s) that are not audio, first %s: %s", len(skipped), first, reason)
    if not clips:
        raise DataError(
            f"No audio clips found in {root}. Put one folder per label with audio files inside "
            "(or split CSVs with file,class columns)."
        )
    clips = _apply_keywords(clips, options.keywords)
    if options.noise_class:
        if not noise_files:
            raise DataError(
                f"No background-noise recordings in {root} for the noise class: add a _background_noise_/ "
                "folder, or drop the noise class."
            )
        clips += _noise_clips(noise_files, clips, options)
    labels = tuple(sorted({c.label for c in clips}))
    if len(labels) < 2:
        nested = root / labels[0]
        hint = (
            f"If the clips of every class are in {nested}, give that folder instead. "
            if nested.is_dir() and source == "speaker" else ""
        )
        raise DataError(
            f"Only one class ({labels[0]!r}) in {root}: keyword spotting needs at least 2. {hint}"
            "Add another label folder, or add the noise class."
        )
    train_labels = {c.label for c in clips if c.split == "train"}
    missing = [label for label in labels if label not in train_labels]
    if missing:
        raise DataError(f"Label(s) {missing} have no training clips after the split in {root}; add clips.")
    return ClipIndex(
        root=root,
        clips=tuple(clips),
        labels=labels,
        split_source=source,
        noise_files=tuple(noise_files),
        skipped=tuple(skipped),
    )


def _noise_files(root: Path) -> list[Path]:
    for name in _NOISE_DIRS:
        folder = root / name
        if folder.is_dir():
            return sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    return []


def _usable(path: Path, skipped: list[tuple[Path, str]]) -> bool:
    reason = probe_audio(path)
    if reason:
        skipped.append((path, reason))
    return reason is None


def _from_csv(root: Path, options: DatasetOptions, skipped: list[tuple[Path, str]]) -> list[Clip]:
    clips: list[Clip] = []
    rows: dict[str, str] = {}  # content hash → "train.csv line 3", to find one clip listed in two splits
    inside = root.resolve()
    for split, names in _CSV_NAMES.items():
        path = next((root / n for n in names if (root / n).is_file()), None)
        if path is None:
            continue
        with path.open(newline="", encoding="utf-8-sig", errors="strict") as f:  # -sig: Excel's "CSV UTF-8" BOM
            try:
                reader = csv.DictReader(f)
                if reader.fieldnames is None or not {"file", "class"} <= set(reader.fieldnames):
                    raise DataError(f"{path} needs the columns file,class but has {reader.fieldnames}.")
                for row in reader:
                    where = f"{path} line {reader.line_num}"
                    clip = _csv_clip(root, inside, where, row, split, options, skipped)
                    if clip is not None:
                        _check_not_listed_twice(clip, where, rows)
                        clips.append(clip)
            except (UnicodeDecodeError, csv.Error) as exc:
                raise DataError(f"{path} is not a readable UTF-8 CSV ({exc}); save it as UTF-8 CSV.") from None
    if not clips and not skipped:
        raise DataError(f"The split CSVs in {root} list no clips; add file,class rows to train.csv.")
    if not any(c.split == "test" for c in clips) or not any(c.split == "val" for c in clips):
        return _resplit(clips, options, splits_given=("train",))
    return clips


def _csv_clip(
    root: Path, inside: Path, where: str, row: dict, split: str, options: DatasetOptions,
    skipped: list[tuple[Path, str]],
) -> Clip | None:
    """The clip of one CSV row, whose file must lie inside the dataset folder."""
    name, label = row.get("file"), row.get("class")
    if not name or not label:
        raise DataError(f"{where} has no file or no class; give both (file,class).")
    file = root / name
    try:
        outside, exists = not file.resolve().is_relative_to(inside), file.is_file()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the file system
        raise DataError(f"{where} lists {name!r}, which is not a usable path ({exc}). Fix the CSV row.") from None
    if outside:
        raise DataError(
            f"{where} lists {name!r}, which is outside the dataset folder {root}; "
            "paths must be relative to it and stay inside."
        )
    if not exists:
        raise DataError(f"{where} lists {name!r}, which is not in {root}. Fix the CSV row.")
    if not _usable(file, skipped):
        return None
    speaker = speaker_of(file, options.speaker_patterns) or file.stem
    return Clip(file, label, speaker, split)


def _check_not_listed_twice(clip: Clip, where: str, rows: dict[str, str]) -> None:
    """The same audio (by content) in two rows would leak between splits or weigh double: refuse it."""
    digest = hashlib.sha1(clip.path.read_bytes()).hexdigest()
    if digest in rows:
        raise DataError(
            f"{where} ({clip.path.name}) holds the same audio as {rows[digest]}; a clip may be listed once, "
            "in one split. Remove one of the rows."
        )
    rows[digest] = f"{where} ({clip.path.name})"


def _from_lists(root: Path, options: DatasetOptions, skipped: list[tuple[Path, str]]) -> list[Clip]:
    lists = {}
    for split, name in (("val", "validation_list.txt"), ("test", "testing_list.txt")):
        file = root / name
        if file.is_file():
            try:
                text = file.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{file} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None
            lists.update({line.strip(): split for line in text.splitlines() if line.strip()})
    clips = []
    for label, path in _label_files(root):
        if _usable(path, skipped):
            rel = path.relative_to(root).as_posix()
            speaker = speaker_of(path, options.speaker_patterns) or path.stem
            clips.append(Clip(path, label, speaker, lists.get(rel, "train")))
    return clips


def _from_folders(root: Path, options: DatasetOptions, skipped: list[tuple[Path, str]]) -> list[Clip]:
    files = [(label, path) for label, path in _label_files(root) if _usable(path, skipped)]
    if not files:  # one flat folder, label in the file name (FSDD)
        for path in sorted(root.iterdir()):
            if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
                match = re.match(_FLAT_LABEL_PATTERN, path.stem)
                if match and _usable(path, skipped):
                    files.append((match.group("label"), path))
    clips = []
    for label, path in files:
        speaker = speaker_of(path, options.speaker_patterns)
        if speaker is None:
            raise DataError(
                f"Cannot find the speaker in file name {path.name!r} for a speaker-disjoint split. Pass "
                r"`speaker_patterns` with a (?P<speaker>...) group, e.g. '^(?P<speaker>[^_]+)_'."
            )
        clips.append(Clip(path, label, speaker, "train"))
    return _resplit(clips, options, splits_given=()) if clips else []


def _resplit(clips: list[Clip], options: DatasetOptions, splits_given: Sequence[str]) -> list[Clip]:
    """Split the training clips by speaker; keep clips of ``splits_given`` other than train as they are."""
    pool = [c for c in clips if c.split == "train"]
    kept = [c for c in clips if c.split != "train"]
    speakers: dict[str, set[str]] = defaultdict(set)
    for clip in pool:
        speakers[clip.label].add(clip.speaker)
    has_test = any(c.split == "test" for c in kept)
    assignment = speaker_split(
        speakers,
        val_fraction=options.val_fraction,
        test_fraction=0.0 if has_test else options.test_fraction,
        seed=options.seed,
    )
    return kept + [Clip(c.path, c.label, c.speaker, assignment[c.speaker], c.offset_s) for c in pool]


def _label_files(root: Path) -> list[tuple[str, Path]]:
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")) or folder.name in _NOISE_DIRS:
            continue
        for path in sorted(folder.rglob("*")):
            dangling = path.is_symlink() and not path.exists()  # named and skipped like any file that is not audio
            if (path.is_file() or dangling) and not path.name.startswith("."):
                out.append((folder.name, path))
    return out


def _apply_keywords(clips: list[Clip], keywords: tuple[str, ...] | None) -> list[Clip]:
    if not keywords:
        return clips
    present = {c.label for c in clips}
    unknown = [k for k in keywords if k not in present]
    if unknown:
        from kwsauto.errors import did_you_mean

        raise DataError(
            f"Keyword {unknown[0]!r} is not a label of this dataset{did_you_mean(unknown[0], present)}; "
            f"labels are {sorted(present)}."
        )
    return [c if c.label in keywords else Clip(c.path, UNKNOWN_LABEL, c.speaker, c.split, c.offset_s) for c in clips]


def _noise_clips(noise_files: list[Path], clips: list[Clip], options: DatasetOptions) -> list[Clip]:
    """Windows cut from the noise recordings: each recording's first 60 % for train, then 20 % val, 20 % test.

    As many noise windows per split as the median label has clips, so the class is neither rare nor dominant.
    """
    out: list[Clip] = []
    for split, (lo, hi) in {"train": (0.0, 0.6), "val": (0.6, 0.8), "test": (0.8, 1.0)}.items():
        per_label = sorted(
            sum(1 for c in clips if c.split == split and c.label == label) for label in {c.label for c in clips}
        )
        wanted = max(1, per_label[len(per_label) // 2]) if per_label else 1
        windows = []
        for path in noise_files:
            duration = sf.info(str(path)).duration
            start, stop = duration * lo, duration * hi - options.window_s
            if stop < start:
                continue
            n = max(1, int((stop - start) / (options.window_s / 2)))
            windows += [(path, start + i * (stop - start) / n) for i in range(n)]
        if not windows:
            raise DataError("Background-noise recordings are shorter than the window; give longer recordings.")
        step = len(windows) / wanted
        for i in range(wanted):
            path, offset = windows[int(i * step) % len(windows)]
            out.append(Clip(path, NOISE_LABEL, path.stem, split, round(offset, 4)))
    return out
