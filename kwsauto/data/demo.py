"""Built-in demo dataset: a few keywords spoken by many synthetic espeak-ng voices.

The demo lets anyone try kwsauto end to end without downloading a corpus. It is generated once, offline,
into the cache folder and laid out like Speech Commands (``<label>/<speaker>_nohash_<n>.wav``, 16 kHz
mono, 1 s), so the regular loaders and speaker-disjoint splits apply to it unchanged. The synthesis itself
(espeak-ng, the optional ``demo`` extra) is in :mod:`kwsauto.data._speech`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import pathlib
import threading
import time
from typing import Any

import numpy as np

from kwsauto.data._cache import build_folder, default_cache_dir
from kwsauto.data._speech import ACCENTS as _ACCENTS
from kwsauto.data._speech import CLIP_SAMPLES as _CLIP
from kwsauto.data._speech import NOISE_KINDS as _NOISE_KINDS
from kwsauto.data._speech import SAMPLE_RATE
from kwsauto.data._speech import VARIANTS as _VARIANTS
from kwsauto.data._speech import Espeak as _Espeak
from kwsauto.data._speech import SpeechUnavailableError as DemoUnavailableError
from kwsauto.data._speech import Voice as _Voice
from kwsauto.data._speech import locate_espeak as _locate_espeak
from kwsauto.data._speech import noise as _noise
from kwsauto.data._speech import speak_word as _speak_word
from kwsauto.data._speech import write_wav as _write

__all__ = ["DEMO_KEYWORDS", "DemoUnavailableError", "default_cache_dir", "ensure_demo_dataset"]

_logger = logging.getLogger(__name__)

DEMO_KEYWORDS: tuple[str, ...] = ("yes", "no", "up", "down")

_VERSION = 2
_DIRNAME = f"demo-v{_VERSION}"
_MANIFEST = "manifest.json"
_UNKNOWN = "unknown"
_NOISE = "noise"
# Short words that sound unlike the keywords (no "now", "dawn", "cup", "yet").
_UNKNOWN_WORDS = (
    "bed", "bird", "cat", "dog", "five", "green", "house", "left", "light", "nine", "right", "seven", "stop",
    "tree", "wow", "zero",
)
_NOISE_CLIPS_PER_SOURCE = 5
_lock = threading.Lock()


def ensure_demo_dataset(
    cache_dir: pathlib.Path | None = None, *, n_voices: int = 120, seed: int = 0
) -> pathlib.Path:
    """Return the demo dataset folder, generating it on first use.

    The folder is ``<cache_dir>/demo-v2`` with one sub-folder per label: the :data:`DEMO_KEYWORDS`,
    ``unknown`` (other words by the same voices) and ``noise`` (no speech). A folder that already has its
    manifest is returned as is, whatever ``n_voices`` and ``seed`` say: they only shape a new dataset.
    Generation (about 1800 clips for the default 120 voices) takes seconds; it happens in a temporary folder
    that is renamed into place once complete, so an interrupted run leaves nothing half-made and
    concurrent runs are safe.

    Args:
        cache_dir: Parent folder; :func:`default_cache_dir` if ``None``.
        n_voices: Number of synthetic speakers (each a fixed espeak-ng voice).
        seed: Seed of every random choice; the same seed gives identical files.

    Raises:
        DemoUnavailableError: espeak-ng (the ``demo`` extra) is not installed.
    """
    if n_voices < 1:
        raise ValueError(f"n_voices must be at least 1, got {n_voices}.")
    root = pathlib.Path(cache_dir) if cache_dir is not None else default_cache_dir()
    final = root / _DIRNAME
    with _lock:
        if (final / _MANIFEST).is_file():
            _check_manifest(final, n_voices, seed)
            return final
        lib_path, data_path = _locate_espeak()
        start = time.perf_counter()
        _logger.info("Generating the demo dataset in %s (one-off).", final)
        manifest = build_folder(final, lambda tmp: _generate(tmp, lib_path, data_path, n_voices, seed), _MANIFEST)
        _logger.info(
            "Demo dataset ready in %.1f s: %s.",
            time.perf_counter() - start,
            ", ".join(f"{k}={v}" for k, v in manifest["counts"].items()),
        )
    return final


def _check_manifest(folder: pathlib.Path, n_voices: int, seed: int) -> None:
    """Say so when the cached dataset was made with other settings than asked for."""
    try:
        manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if (manifest.get("n_voices"), manifest.get("seed")) != (n_voices, seed):
        _logger.info(
            "Using the cached demo dataset in %s (n_voices=%s, seed=%s); delete it to "
            "regenerate with other settings.",
            folder, manifest.get("n_voices"), manifest.get("seed"),
        )


def _generate(
    out: pathlib.Path, lib_path: pathlib.Path, data_path: pathlib.Path, n_voices: int, seed: int
) -> dict[str, Any]:
    """Write all clips into ``out`` and return the manifest."""
    for label in (*DEMO_KEYWORDS, _UNKNOWN, _NOISE):
        (out / label).mkdir(parents=True)
    with _Espeak(lib_path, data_path, out) as probe:
        accents = [a for a in _ACCENTS if probe.has_voice(a)] or ["en"]
        version = probe.version
    variant_dir = data_path / "voices" / "!v"
    variants = [v for v in _VARIANTS if (variant_dir / v).is_file()]
    counts = dict.fromkeys((*DEMO_KEYWORDS, _UNKNOWN, _NOISE), 0)
    voices = []
    for index in range(n_voices):
        # One stream per voice: voice i is the same whatever n_voices is.
        rng = np.random.default_rng([seed, 0, index])
        variant = variants[int(rng.integers(len(variants)))] if variants else ""
        voice = _Voice(
            speaker=f"v{index:03d}",
            voice=accents[index % len(accents)] + (f"+{variant}" if variant else ""),
            rate=int(rng.integers(120, 201)),
            pitch=int(rng.integers(20, 81)),
            pitch_range=int(rng.integers(20, 91)),
        )
        voices.append(dataclasses.asdict(voice))
        with _Espeak(lib_path, data_path, out) as engine:
            for label, clips in _speak(engine, voice, rng).items():
                for n, clip in enumerate(clips):
                    _write(out / label / f"{voice.speaker}_nohash_{n}.wav", clip)
                counts[label] += len(clips)
    for source in range(max(2, (n_voices + 1) // 2)):
        rng = np.random.default_rng([seed, 1, source])
        kind = _NOISE_KINDS[source % len(_NOISE_KINDS)]
        for n in range(_NOISE_CLIPS_PER_SOURCE):
            level = 10 ** (rng.uniform(-45.0, -18.0) / 20)
            _write(out / _NOISE / f"n{source:03d}_nohash_{n}.wav", level * _noise(kind, rng))
        counts[_NOISE] += _NOISE_CLIPS_PER_SOURCE
    return {
        "version": _VERSION,
        "seed": seed,
        "n_voices": n_voices,
        "sample_rate": SAMPLE_RATE,
        "clip_samples": _CLIP,
        "keywords": list(DEMO_KEYWORDS),
        "counts": counts,
        "espeak_ng_version": version,
        "voices": voices,
    }


def _speak(engine: _Espeak, voice: _Voice, rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """Have ``voice`` say each keyword 2-3 times and as many other words once each."""
    reps = int(rng.integers(2, 4))
    words = [(kw, kw) for kw in DEMO_KEYWORDS for _ in range(reps)]
    others = rng.choice(len(_UNKNOWN_WORDS), size=reps, replace=False)
    words += [(_UNKNOWN, _UNKNOWN_WORDS[i]) for i in sorted(others)]
    clips: dict[str, list[np.ndarray]] = {}
    for label, word in words:
        clips.setdefault(label, []).append(_speak_word(engine, voice, word, rng))
    return clips


