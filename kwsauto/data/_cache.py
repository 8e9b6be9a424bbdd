"""Where kwsauto keeps what it can recompute (demo data, decoded clips, features), and the waveform cache.

Never beside the data: datasets may be read-only (CI mounts them so), and a cache is not data.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kwsauto._io import atomic_write
from kwsauto.data._audio import read_clip
from kwsauto.data._index import Clip

__all__ = [
    "WAVE_FULL_SCALE",
    "atomic_torch_save",
    "build_folder",
    "content_key",
    "default_cache_dir",
    "load_waves",
    "open_npy",
    "read_npy_rows",
    "save_npy",
    "wave_cache_path",
]

_LOGGER = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$KWSAUTO_CACHE``, else ``$XDG_CACHE_HOME/kwsauto``, else ``~/.cache/kwsauto``."""
    if os.environ.get("KWSAUTO_CACHE"):
        return Path(os.environ["KWSAUTO_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kwsauto"


def content_key(clips: tuple[Clip, ...], *extra: object) -> str:
    """A hash of every clip's bytes, offset and label plus ``extra``: a changed file or setting changes it."""
    digest = hashlib.sha256()
    file_hashes: dict[Path, str] = {}
    for clip in clips:
        if clip.path not in file_hashes:
            file_hashes[clip.path] = hashlib.sha1(clip.path.read_bytes()).hexdigest()
        digest.update(f"{file_hashes[clip.path]}|{clip.offset_s}|{clip.label}|{clip.split}\n".encode())
    for item in extra:
        digest.update(repr(item).encode())
    return digest.hexdigest()[:24]


def atomic_torch_save(obj: object, path: Path) -> None:
    """``torch.save`` that readers never see half-written."""
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def build_folder(final: Path, generate: Callable[[Path], dict[str, Any]], marker: str = "manifest.json") -> dict[str, Any]:
    """Make the folder ``final`` once: ``generate(tmp)`` fills a temporary sibling and returns its manifest.

    The manifest is written last, as ``marker``: its presence marks a complete folder. The folder is then renamed
    into place, so an interrupted run leaves nothing half-made; an incomplete ``final`` left by an older crash is
    replaced, and when a concurrent process finished first its folder is kept. Returns the manifest.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f"{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        manifest = generate(tmp)
        (tmp / marker).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if final.exists() and not (final / marker).is_file():
            _LOGGER.warning("Replacing incomplete folder %s.", final)
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:
            if not (final / marker).is_file():
                raise
            _LOGGER.debug("%s was made concurrently; using it.", final)  # as good as ours
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


WAVE_FULL_SCALE = 32767.0  # cached waveforms are int16: float value = int16 / WAVE_FULL_SCALE


def load_waves(
    clips: tuple[Clip, ...],
    *,
    sample_rate_hz: int,
    window_samples: int,
    cache_dir: Path | None = None,
    key: str | None = None,
    chunk_clips: int = 1024,
    progress: Callable[[str, int, int], None] | None = None,
) -> torch.Tensor:
    """Every clip decoded to ``[n_clips, window_samples]`` int16 (``WAVE_FULL_SCALE`` is 1.0), memory-mapped.

    The cache is a ``.npy`` file read in place (pages load as they are touched), so the decoded audio of a large
    dataset is never held in memory whole. It is written a chunk of clips at a time under a temporary name and
    renamed when complete; a file whose header or length does not match (cut short, another version) is decoded
    again, never read. ``progress("decoding clips", done, total)`` follows each chunk.
    """
    cache_dir = cache_dir or default_cache_dir()
    key = key or content_key(clips, sample_rate_hz, window_samples)
    path = wave_cache_path(cache_dir, key)
    shape = (len(clips), window_samples)
    cached = open_npy(path, shape, np.int16)
    if cached is not None:
        return cached
    _LOGGER.info("Decoding %d clips to %d Hz (cached in %s)", len(clips), sample_rate_hz, path.parent)

    def decode(clip: Clip) -> torch.Tensor:
        return read_clip(clip.path, sample_rate_hz=sample_rate_hz, window_samples=window_samples, offset_s=clip.offset_s)

    def write(tmp: Path) -> None:  # plain writes, not a writable map: written pages do not stay resident
        with tmp.open("wb") as f, concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            np.lib.format.write_array_header_1_0(f, {"descr": "<i2", "fortran_order": False, "shape": shape})
            for start in range(0, len(clips), chunk_clips):
                chunk = torch.stack(list(pool.map(decode, clips[start : start + chunk_clips])))  # [chunk, samples]
                f.write((chunk.clamp(-1, 1) * WAVE_FULL_SCALE).round().to(torch.int16).numpy().tobytes())
                if progress is not None:
                    progress("decoding clips", start + len(chunk), len(clips))

    atomic_write(path, write)
    waves = open_npy(path, shape, np.int16)
    if waves is None:
        raise OSError(f"The waveform cache {path} just written cannot be read back; check the disk.")
    return waves


def wave_cache_path(cache_dir: Path, key: str) -> Path:
    """Where :func:`load_waves` keeps the clips decoded under ``key``."""
    return cache_dir / "waves" / f"{key}.npy"


def save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` that readers never see half-written."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:  # a file object: np.save would add ".npy" to a path
            np.save(f, array, allow_pickle=False)

    atomic_write(path, write)


def read_npy_rows(path: Path, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of a C-ordered ``.npy`` file, read (not mapped): pages do not stay resident afterwards."""
    with path.open("rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f)
        row = int(np.prod(shape[1:], dtype=np.int64))
        f.seek(f.tell() + start * row * dtype.itemsize)
        count = max(0, min(stop, shape[0]) - start)
        return np.fromfile(f, dtype=dtype, count=count * row).reshape(count, *shape[1:])


def open_npy(path: Path, shape: tuple[int, ...], dtype: type) -> torch.Tensor | None:
    """The cached array at ``path``, memory-mapped, if it is complete and has ``shape`` and ``dtype``; else None."""
    if not path.is_file():
        return None
    try:
        array = np.load(path, mmap_mode="c", allow_pickle=False)  # copy-on-write: the file is never changed
    except (OSError, ValueError) as exc:
        _LOGGER.warning("Ignoring unreadable cache file %s (%s); computing it again.", path, exc)
        return None
    if array.shape != shape or array.dtype != dtype:
        _LOGGER.warning("Ignoring cache file %s of shape %s %s, not %s %s.", path, array.shape, array.dtype, shape,
                        np.dtype(dtype))
        return None
    return torch.from_numpy(array)
