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

import torch

from kwsauto._io import atomic_write
from kwsauto.data._audio import read_clip
from kwsauto.data._index import Clip

__all__ = ["default_cache_dir", "content_key", "atomic_torch_save", "build_folder", "load_waves"]

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


def load_waves(
    clips: tuple[Clip, ...],
    *,
    sample_rate_hz: int,
    window_samples: int,
    cache_dir: Path | None = None,
    key: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> torch.Tensor:
    """Decode every clip to ``[n_clips, window_samples]`` float32, cached as int16 under ``key``."""
    cache_dir = cache_dir or default_cache_dir()
    key = key or content_key(clips, sample_rate_hz, window_samples)
    path = cache_dir / "waves" / f"{key}.pt"
    if path.is_file():
        try:
            return torch.load(path, weights_only=True).float() / 32767.0
        except Exception:  # a cache file from another version or a crash: recompute
            _LOGGER.warning("Ignoring unreadable cache file %s", path)
    _LOGGER.info("Decoding %d clips to %d Hz (cached in %s)", len(clips), sample_rate_hz, path.parent)

    def decode(clip: Clip) -> torch.Tensor:
        return read_clip(clip.path, sample_rate_hz=sample_rate_hz, window_samples=window_samples, offset_s=clip.offset_s)

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        waves = torch.stack(list(pool.map(decode, clips)))  # [n_clips, window_samples]
    if progress is not None:
        progress("decoding clips", len(clips), len(clips))
    atomic_torch_save((waves.clamp(-1, 1) * 32767.0).round().to(torch.int16), path)
    return waves.clamp(-1, 1)
