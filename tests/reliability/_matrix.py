"""The matrix's case record and its one check: run the real ``kwsauto`` command in-process, then assert the exit
code, that stderr is one line naming the value and the fix (no traceback, no password), and what is on disk."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kwsauto.cli import main
from kwsauto.search import RunFolder, open_study

PASSWORD = "s3cr3t-Pw"
EXECUTED = "executed.txt"  # what a YAML tag or a pickle that ran code would create in the case's folder
SPACE = "features: {frame_stride_s: 0.02}\nmodel: {arch: dscnn, width: 0.25}\ntrain: {epochs: 1, batch_size: 16}\n"


@dataclass(frozen=True)
class Case:
    """``setup(tmp, data)`` writes what the case needs and returns the command's arguments.

    ``message`` must appear in the one-line error (exit 2) or, for a case that holds with exit 0, in the output.
    ``after(tmp)`` checks what is on disk afterwards, beyond the default: nothing trained in ``tmp/run``.
    """

    name: str
    setup: Callable[[Path, Path], list]
    message: str
    code: int = 2
    nothing_trained: bool = True  # the run folder (tmp/run) holds no trial, no best/
    after: Callable[[Path], None] | None = None


def check_case(case: Case, data: Path, tmp: Path, capsys) -> None:
    argv = [str(arg) for arg in case.setup(tmp, data)]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: a value of the wrong type, a missing argument
        code = exc.code
    out, err = capsys.readouterr()
    assert code == case.code, f"exit {code}\n{err}\n{out}"
    assert "Traceback" not in err + out and PASSWORD not in err + out, err
    if case.code == 0:
        assert "error:" not in err and case.message in out + err, out + err
    else:
        errors = [line for line in err.splitlines() if "error:" in line]
        assert len(errors) == 1 and case.message in errors[0], err
    run = tmp / "run"
    if case.nothing_trained and run.exists():
        assert not (run / "best").exists() and not (run / "trials").exists()
        for file in run.rglob("*"):
            assert not file.is_file() or PASSWORD.encode() not in file.read_bytes()
    assert not list(tmp.rglob(".*.tmp*")) and not list(tmp.rglob(".best.new-*")), "a half-written file was left"
    if case.after is not None:
        case.after(tmp)


class RunsCode:
    """Unpickled, this would create ``path``: the proof that a loader executed code from a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return os.system, (f"touch {self.path}",)


def no_code_ran(tmp: Path) -> None:
    assert not (tmp / EXECUTED).exists(), "a file executed code"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def search_args(tmp: Path, data: Path, *extra: str, space: str = SPACE) -> list[str]:
    write(tmp / "space.yaml", space)
    return ["search", str(data), "--space", str(tmp / "space.yaml"), "--trials", "1", "--out", str(tmp / "run"),
            "--reselect", "0", "--no-refit", *extra]  # one trial is the whole point: no re-selection runs


def csv_dataset(tmp: Path, data: Path, train_extra: str = "", test_rows: str | None = None) -> Path:
    """``data``'s clips listed in train.csv/test.csv, plus the given rows."""
    root = tmp / "csv"
    shutil.copytree(data, root)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.wav"))
    train = [f"{f},{f.split('/')[0]}" for f in files[::2]]
    test = [f"{f},{f.split('/')[0]}" for f in files[1::2]]
    write(root / "train.csv", "file,class\n" + "\n".join(train) + "\n" + train_extra)
    write(root / "test.csv", "file,class\n" + (test_rows if test_rows is not None else "\n".join(test)) + "\n")
    return root


def run_folder(tmp: Path, run_json: bytes | None = None, card: bytes | None = None) -> Path:
    run = RunFolder(tmp / "old").prepare()
    open_study(run, "s", pareto=False)
    valid = {"study": "s", "data": str(tmp), "budget": {"ram_bytes": 65536}, "device": "cortex-m4f-80mhz",
             "space": "quick"}
    write(run.path / "run.json", run_json if run_json is not None else json.dumps(valid).encode())
    if card is not None:
        write(run.best_dir / "card.json", card)
    return run.path


