"""Split CSVs, split lists and dataset options as a user writes them: each case runs ``kwsauto search`` in-process.

A case that holds ("held") is read in full and then stopped by a budget nothing fits (``--budget 1B``), so that
reaching the budget check proves the data was accepted without training anything.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.reliability._matrix import Case, check_case, search_args, write

FITS_NOTHING = "Nothing in the search space fits"


def _rows(data: Path, label_of=lambda f: f.split("/")[0]) -> list[str]:
    return [f"{f},{label_of(f)}" for f in sorted(p.relative_to(data).as_posix() for p in data.rglob("*.wav"))]


def _csvs(tmp: Path, data: Path, train: str | bytes | None = None, test: str | None = None, **extra: str) -> Path:
    """A copy of ``data`` with split CSVs: by default every other clip in train.csv, the rest in test.csv."""
    root = tmp / "csv"
    shutil.copytree(data, root)
    rows = _rows(root)
    write(root / "train.csv", train if train is not None else "file,class\n" + "\n".join(rows[::2]) + "\n")
    write(root / "test.csv", test if test is not None else "file,class\n" + "\n".join(rows[1::2]) + "\n")
    for name, text in extra.items():
        write(root / f"{name}.csv", text)
    return root


def _held(tmp: Path, data: Path, **csvs) -> list:
    return search_args(tmp, _csvs(tmp, data, **csvs), "--budget", "1B")


def _train(data: Path, body: str) -> str:
    return "file,class\n" + body


def _half(data: Path, start: int = 0) -> list[str]:
    return _rows(data)[start::2]


def _one_speaker(tmp: Path, data: Path) -> list:
    root = tmp / "one"
    shutil.copytree(data, root)
    for n, path in enumerate(sorted(root.rglob("*.wav"))):
        path.rename(path.with_name(f"same_nohash_{n}.wav"))
    return search_args(tmp, root)


def _lists(tmp: Path, data: Path, content: bytes) -> list:
    root = tmp / "lists"
    shutil.copytree(data, root)
    write(root / "testing_list.txt", content)
    return search_args(tmp, root)


CASES = [
    Case("csv: missing columns", lambda t, d: search_args(t, _csvs(t, d, "path,label\n" + "\n".join(_half(d)))),
         "needs the columns file,class but has ['path', 'label']"),
    Case("csv: empty file", lambda t, d: search_args(t, _csvs(t, d, "")), "needs the columns file,class but has None"),
    Case("csv: header only", lambda t, d: search_args(t, _csvs(t, d, "file,class\n", "file,class\n")), "list no clips"),
    Case("csv: BOM (held)", lambda t, d: _held(t, d, train=b"\xef\xbb\xbf" + _train(d, "\n".join(_half(d))).encode()),
         FITS_NOTHING),
    Case("csv: CRLF (held)", lambda t, d: _held(t, d, train=_train(d, "\r\n".join(_half(d))).replace("\n", "\r\n")),
         FITS_NOTHING),
    Case("csv: quoted paths (held)",
         lambda t, d: _held(t, d, train=_train(d, "\n".join('"{}","{}"'.format(*r.split(",")) for r in _half(d)))),
         FITS_NOTHING),
    Case("csv: extra columns (held)",
         lambda t, d: _held(t, d, train="file,class,speaker\n" + "\n".join(r + ",x" for r in _half(d))), FITS_NOTHING),
    Case("csv: empty val split, re-split from train (held)", lambda t, d: _held(t, d, val="file,class\n"), FITS_NOTHING),
    Case("csv: empty test split, re-split from train (held)", lambda t, d: _held(t, d, test="file,class\n"), FITS_NOTHING),
    Case("csv: label only in test", lambda t, d: search_args(t, _csvs(
        t, d, test=_train(d, "\n".join(_half(d, 1)).replace(",low", ",zebra", 1)))), "['zebra'] have no training clips"),
    Case("csv: duplicate row", lambda t, d: search_args(t, _csvs(t, d, _train(d, "\n".join(_half(d) + _half(d)[:1])))),
         "holds the same audio as"),
    Case("csv: missing file", lambda t, d: search_args(t, _csvs(t, d, _train(d, "low/nothere.wav,low\n"))),
         "lists 'low/nothere.wav', which is not in"),
    Case("csv: path with a leading space", lambda t, d: search_args(t, _csvs(t, d, _train(d, " " + _half(d)[0]))),
         "which is not in"),
    Case("csv: NUL byte in a path", lambda t, d: search_args(t, _csvs(t, d, _train(d, "lo\0w/x.wav,low\n"))),
         "not a usable path"),
    Case("csv: a label with one clip", lambda t, d: search_args(t, _csvs(
        t, d, _train(d, "\n".join(_rows(d, lambda f: "solo" if f.endswith("spk00_nohash_0.wav") else f.split("/")[0]))),
        "file,class\n")), "Label 'solo' has 1 speaker(s)"),
    Case("folders: one speaker, no split possible", _one_speaker, "has 1 speaker(s) (same)"),
    Case("lists: testing_list.txt not UTF-8", lambda t, d: _lists(t, d, b"\xff\xfe"), "testing_list.txt is not UTF-8"),
    Case("--keywords not a label", lambda t, d: search_args(t, d, "--keywords", "hihg"), "did you mean 'high'"),
    Case("--noise-class without recordings", lambda t, d: search_args(t, d, "--noise-class"),
         "No background-noise recordings"),
    Case("--speaker-pattern not a regex", lambda t, d: search_args(t, d, "--speaker-pattern", "(["),
         "'([' is not a valid regex"),
    Case("--speaker-pattern without a group", lambda t, d: search_args(t, d, "--speaker-pattern", "^x"),
         "has no (?P<speaker>...) group"),
    Case("data folder missing", lambda t, d: search_args(t, t / "nowhere"), "nowhere does not exist"),
    Case("data folder empty", lambda t, d: search_args(t, (t / "empty").mkdir() or t / "empty"), "No audio clips found"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_data(case, small_data, tmp_path, capsys):
    check_case(case, small_data, tmp_path, capsys)
