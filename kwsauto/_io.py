"""Atomic writes: a temporary file (or folder) beside the target, then a rename. Readers never see half of one."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "replaced_dir",
    "process_alive",
    "read_json",
    "check_expanded_size",
    "read_yaml_mapping",
    "load_yaml",
    "yaml_reason",
]


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)``, then move the finished file to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the mode open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


@contextlib.contextmanager
def replaced_dir(path: Path) -> Iterator[Path]:
    """Yield an empty temporary sibling of folder ``path``; when the block ends without error it replaces ``path``.

    A reader sees the old folder or the new one, never a mix: the swap is one ``renameat2(RENAME_EXCHANGE)`` on
    Linux (elsewhere two renames, and a folder left aside by a crash between them is put back next time).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _restore_set_aside(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.new-{os.getpid()}-"))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if not path.exists():
            os.rename(tmp, path)
            return
        if _exchange(tmp, path):
            shutil.rmtree(tmp)  # now the old folder
            return
        aside = path.parent / f".{path.name}.old-{os.getpid()}"
        os.rename(path, aside)
        os.rename(tmp, path)
        shutil.rmtree(aside)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _restore_set_aside(path: Path) -> None:
    """Put back a folder that a crash left aside between the two renames of :func:`replaced_dir`, and remove the
    unfinished folders of writers that died (a live one's is left alone)."""
    for stale in sorted(path.parent.glob(f".{path.name}.new-*")):
        pid = stale.name.removeprefix(f".{path.name}.new-").split("-")[0]
        if not (pid.isdigit() and process_alive(int(pid))):
            shutil.rmtree(stale, ignore_errors=True)
    for aside in sorted(path.parent.glob(f".{path.name}.old-*")):
        if path.exists():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(aside, path)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not): the owner of a stale trial or unfinished folder."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where that is unavailable."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object file kwsauto wrote; a damaged one is a one-line error naming it (``what`` says its role)."""
    from kwsauto.errors import OutputError

    path = Path(path)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise OutputError(f"{what} {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0][:120]
        raise OutputError(f"{what} {path} cannot be read ({reason}); restore it, or run the search again.") from None
    if not isinstance(data, dict):
        raise OutputError(f"{what} {path} holds a JSON {type(data).__name__}, not an object; restore it.")
    return data


def read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """A YAML file that must hold a mapping; ``what`` names the file's role in error messages."""
    import yaml

    from kwsauto.errors import ConfigError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist.")
    try:
        raw = load_yaml(path.read_bytes().decode("utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {yaml_reason(exc)}.") from None
    except RecursionError:
        raise ConfigError(f"{what} {path} nests too deeply to be a configuration; simplify it.") from None
    check_expanded_size(raw, path, what)
    if not isinstance(raw, dict):
        raise ConfigError(f"{what} {path} must be a mapping with features/model/train sections.")
    return raw


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that refuses a key given twice in one mapping (PyYAML silently keeps the last one)."""
    import yaml

    return yaml.load(text, Loader=_unique_key_loader())


@functools.cache
def _unique_key_loader() -> type:
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` then an explicit key overrides it
                    continue
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, Hashable) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark
                    )
                if isinstance(key, Hashable):
                    seen.add(key)
            return super().construct_mapping(node, deep)

    return UniqueKeyLoader


def yaml_reason(exc: Exception) -> str:
    """What PyYAML found wrong and where, in one line ("found the key 'epochs' twice at line 3")."""
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if problem:
        return f"{problem} at line {mark.line + 1}" if mark is not None else problem
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def check_expanded_size(raw: Any, path: Path, what: str, limit: int = 100_000) -> None:
    """Refuse a parsed file that expands to more than ``limit`` values (a YAML alias bomb is small on disk)."""
    from kwsauto.errors import ConfigError

    stack, seen = [raw], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > limit:
            raise ConfigError(f"{what} {path} expands to more than {limit} values (nested YAML aliases?); simplify it.")
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
