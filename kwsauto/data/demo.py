"""Built-in demo dataset: a few keywords spoken by many synthetic espeak-ng voices.

The demo lets anyone try kwsauto end to end without downloading a corpus. It is generated once, offline,
into the cache folder and laid out like Speech Commands (``<label>/<speaker>_nohash_<n>.wav``, 16 kHz
mono, 1 s), so the regular loaders and speaker-disjoint splits apply to it unchanged.

espeak-ng is GPL-3, so it lives behind the optional ``demo`` extra: the ``espeakng-loader`` wheel bundles
the shared library and its voice data, which are driven through :mod:`ctypes` (there is no program to run).

Reproducibility: espeak-ng keeps synthesis state (pitch-flutter phase, automatic gain, echo buffer) in C
statics that no API call resets, so one word spoken twice in a process comes out differently. Each voice
is therefore spoken by a private, freshly loaded copy of the library, which makes every file a function
of ``seed`` and the voice's index alone.
"""

from __future__ import annotations

import _ctypes
import ctypes
import dataclasses
import functools
import io
import json
import logging
import math
import os
import pathlib
import shutil
import threading
import time
from typing import Any

import numpy as np
import soundfile

from kwsauto.data._cache import default_cache_dir

__all__ = ["DEMO_KEYWORDS", "DemoUnavailableError", "default_cache_dir", "ensure_demo_dataset"]

_logger = logging.getLogger(__name__)

DEMO_KEYWORDS: tuple[str, ...] = ("yes", "no", "up", "down")

_VERSION = 2
_DIRNAME = f"demo-v{_VERSION}"
_MANIFEST = "manifest.json"
_SAMPLE_RATE = 16000
_CLIP = _SAMPLE_RATE  # samples in one 1.0 s clip
_UNKNOWN = "unknown"
_NOISE = "noise"
_INSTALL_HINT = "The demo dataset needs the 'demo' extra (espeak-ng, GPL-3): pip install 'kwsauto[demo]'"
# Short words that sound unlike the keywords (no "now", "dawn", "cup", "yet").
_UNKNOWN_WORDS = (
    "bed", "bird", "cat", "dog", "five", "green", "house", "left", "light", "nine", "right", "seven", "stop",
    "tree", "wow", "zero",
)
# English accents; whichever the bundled data has are used, in this order.
_ACCENTS = (
    "en", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-gb-x-rp", "en-us", "en-us-nyc",
)
# Human-sounding voice variants (files in espeak-ng-data/voices/!v); robotic,
# whispering and novelty variants are left out so the keywords stay clear.
_VARIANTS = (
    "Alex", "Alicia", "Andrea", "Andy", "Annie", "Denis", "Gene", "Henrique", "Hugo", "Jacky", "Lee",
    "Marco", "Mario", "Michael", "Mike", "Nguyen", "Reed", "adam", "anika", "aunty", "belinda",
    "benjamin", "boris", "caleb", "david", "ed", "edward", "f1", "f2", "f3", "f4", "f5", "grandma",
    "grandpa", "gustave", "ian", "iven", "iven2", "iven3", "john", "klatt", "klatt2", "klatt3", "klatt4",
    "klatt6", "linda", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "max", "michel", "miguel",
    "norbert", "pablo", "paul", "pedro", "quincy", "rob", "robert", "sandro", "shelby", "steph",
    "travis", "victor", "zac",
)
_NOISE_KINDS = ("white", "pink", "brown", "hum", "babble")
_NOISE_CLIPS_PER_SOURCE = 5

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH, _RANGE = 1, 3, 4
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_lock = threading.Lock()


class DemoUnavailableError(RuntimeError):
    """The optional espeak-ng dependency of the demo dataset is missing or broken."""


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
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f"{_DIRNAME}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            start = time.perf_counter()
            _logger.info("Generating the demo dataset in %s (one-off).", final)
            manifest = _generate(tmp, lib_path, data_path, n_voices, seed)
            # The manifest goes last: its presence marks a complete dataset.
            text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
            (tmp / _MANIFEST).write_text(text, encoding="utf-8")
            _publish(tmp, final)
            _logger.info(
                "Demo dataset ready in %.1f s: %s.",
                time.perf_counter() - start,
                ", ".join(f"{k}={v}" for k, v in manifest["counts"].items()),
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _publish(tmp: pathlib.Path, final: pathlib.Path) -> None:
    """Atomically rename the finished ``tmp`` folder to ``final``."""
    if final.exists() and not (final / _MANIFEST).is_file():
        _logger.warning("Replacing incomplete demo dataset folder %s.", final)
        shutil.rmtree(final, ignore_errors=True)
    try:
        os.replace(tmp, final)
    except OSError:
        if not (final / _MANIFEST).is_file():
            raise
        # Another process finished first; its dataset is as good as ours.
        _logger.debug("Demo dataset was generated concurrently; using %s.", final)


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


def _locate_espeak() -> tuple[pathlib.Path, pathlib.Path]:
    """Return the paths of the bundled espeak-ng library and its data folder."""
    try:
        import espeakng_loader
    except ImportError as exc:
        raise DemoUnavailableError(_INSTALL_HINT) from exc
    try:
        lib_path = pathlib.Path(espeakng_loader.get_library_path())
        data_path = pathlib.Path(espeakng_loader.get_data_path())
    except Exception as exc:  # The loader raises a bare RuntimeError for missing data.
        raise DemoUnavailableError(f"{_INSTALL_HINT} ({exc})") from exc
    if not lib_path.is_file():
        raise DemoUnavailableError(f"{_INSTALL_HINT} (no library at {lib_path})")
    return lib_path, data_path


class _Espeak:
    """One private, freshly initialised instance of the espeak-ng library."""

    def __init__(self, lib_path: pathlib.Path, data_path: pathlib.Path, workdir: pathlib.Path):
        # A copy under a new name makes the dynamic loader map fresh C statics.
        self._copy = workdir / f"libespeak-ng-{id(self):x}{lib_path.suffix}"
        shutil.copyfile(lib_path, self._copy)
        try:
            self._lib = ctypes.CDLL(str(self._copy))
        except OSError as exc:  # e.g. a cache folder mounted noexec.
            _logger.warning("Cannot load a private espeak-ng copy (%s); output may vary.", exc)
            try:
                self._lib = ctypes.CDLL(str(lib_path))
            except OSError as exc2:
                raise DemoUnavailableError(f"{_INSTALL_HINT} ({exc2})") from exc2
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        uint, ptr = ctypes.c_uint, ctypes.c_void_p
        lib.espeak_Synth.argtypes = [ptr, ctypes.c_size_t, uint, ctypes.c_int, uint, uint, ptr, ptr]
        self.sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), _INITIALIZE_DONT_EXIT
        )
        if self.sample_rate <= 0:
            self.close()
            raise DemoUnavailableError(f"espeak-ng failed to initialise with data {data_path}.")
        self.version = (lib.espeak_Info(None) or b"?").decode()
        self._chunks: list[np.ndarray] = []
        self._callback = _SynthCallback(self._collect)  # Referenced: C holds the pointer.
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: Any, n: int, events: Any) -> int:
        """Synthesis callback: copy out each chunk of samples (``wav`` is NULL at the end)."""
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def has_voice(self, name: str) -> bool:
        """Whether the data folder has voice ``name`` (this also selects it)."""
        return self._lib.espeak_SetVoiceByName(name.encode()) == 0

    def synth(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int, seed: int) -> np.ndarray:
        """Speak ``text`` and return int16 samples at :attr:`sample_rate`."""
        lib = self._lib
        if hasattr(lib, "espeak_ng_SetRandSeed"):  # Breath noise of some variants.
            lib.espeak_ng_SetRandSeed(ctypes.c_long(seed))
        lib.espeak_SetVoiceByName(voice.encode())
        for param, value in ((_RATE, rate), (_PITCH, pitch), (_RANGE, pitch_range)):
            lib.espeak_SetParameter(param, value, 0)
        data = text.encode("utf-8") + b"\0"
        self._chunks = []
        error = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        if error != 0:
            raise RuntimeError(f"espeak-ng failed to speak {text!r} with {voice!r} (error {error}).")
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)

    def close(self) -> None:
        """Shut espeak-ng down, unload the private copy and delete its file."""
        self._lib.espeak_Terminate()
        dlclose = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
        if dlclose is not None and self._lib._name == str(self._copy):
            dlclose(self._lib._handle)
        self._copy.unlink(missing_ok=True)

    def __enter__(self) -> _Espeak:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclasses.dataclass(frozen=True)
class _Voice:
    """One synthetic speaker: a fixed espeak-ng voice and prosody."""

    speaker: str
    voice: str
    rate: int
    pitch: int
    pitch_range: int


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
        "sample_rate": _SAMPLE_RATE,
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
        # Per-utterance jitter and intonation (statement, exclamation, question).
        text = word + str(rng.choice([".", "!", "?", ""], p=[0.55, 0.2, 0.15, 0.1]))
        samples = engine.synth(
            text,
            voice.voice,
            rate=int(np.clip(voice.rate * rng.uniform(0.9, 1.1), 100, 240)),
            pitch=int(np.clip(voice.pitch + rng.integers(-5, 6), 0, 99)),
            pitch_range=int(np.clip(voice.pitch_range + rng.integers(-10, 11), 0, 99)),
            seed=int(rng.integers(1, 2**31)),
        )
        clips.setdefault(label, []).append(_place(samples, engine.sample_rate, rng))
    return clips


def _place(samples: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Trim, resample to 16 kHz and drop a word at a random time in a noisy 1 s clip."""
    speech = _resample(_trim(samples.astype(np.float32) / 32768.0, rate), rate)
    if len(speech) > _CLIP:  # Rare (slow voices): keep the start, fade out the cut.
        speech = speech[:_CLIP].copy()
        speech[-160:] *= np.linspace(1.0, 0.0, 160, dtype=np.float32)
    peak = float(np.max(np.abs(speech))) or 1.0
    speech = speech * (10 ** (rng.uniform(-20.0, -3.0) / 20) / peak)
    start = int(rng.integers(0, _CLIP - len(speech) + 1))
    clip = np.zeros(_CLIP)
    clip[start : start + len(speech)] = speech
    speech_rms = float(np.sqrt(np.mean(speech**2)))
    snr_db = rng.uniform(25.0, 45.0)
    kind = _NOISE_KINDS[int(rng.integers(3))]  # white, pink or brown
    return clip + speech_rms * 10 ** (-snr_db / 20) * _noise(kind, rng)


def _trim(x: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing silence (frames 45 dB below the loudest), keeping 15 ms."""
    frame = rate // 200
    n = len(x) // frame
    if n == 0:
        return x
    energy = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.flatnonzero(energy > energy.max() * 10 ** (-45 / 20))
    if loud.size == 0:
        return x
    margin = 3 * frame
    return x[max(0, loud[0] * frame - margin) : (loud[-1] + 1) * frame + margin]


def _resample(x: np.ndarray, rate: int) -> np.ndarray:
    """Resample ``x`` from ``rate`` to 16 kHz with a polyphase windowed-sinc filter."""
    gcd = math.gcd(rate, _SAMPLE_RATE)
    up, down = _SAMPLE_RATE // gcd, rate // gcd
    if up == down:
        return x
    taps, half = _resample_taps(up, down)
    positions = np.arange(-(-len(x) * up // down)) * down  # output times, in 1/up input samples
    window = positions[:, None] // up + np.arange(1, 2 * half + 1)  # indices into the padded input
    return np.einsum("ij,ij->i", np.pad(x, half)[window], taps[positions % up])


@functools.lru_cache(maxsize=4)
def _resample_taps(up: int, down: int, zero_crossings: int = 16) -> tuple[np.ndarray, int]:
    """Kaiser-windowed sinc taps ``[up, 2 * half]``, one row per output phase, and ``half``."""
    cutoff = 0.485 * min(1.0, up / down)  # cycles per input sample, just below the new Nyquist
    half = math.ceil(zero_crossings / (2 * cutoff))
    offset = np.arange(1 - half, half + 1) - np.arange(up)[:, None] / up
    window = np.i0(8.0 * np.sqrt(np.clip(1 - (offset / half) ** 2, 0, None)))
    taps = np.sinc(2 * cutoff * offset) * window
    return (taps / taps.sum(axis=1, keepdims=True)).astype(np.float32), half


def _noise(kind: str, rng: np.random.Generator, n: int = _CLIP) -> np.ndarray:
    """Return ``n`` samples of unit-RMS noise of the given kind (never speech)."""
    t = np.arange(n) / _SAMPLE_RATE
    if kind == "hum":  # Mains hum with a random set of decaying harmonics.
        f0 = float(rng.choice([50.0, 60.0])) * rng.uniform(0.99, 1.01)
        x = sum(
            rng.uniform(0.3, 1.0) * 0.7**k * np.sin(2 * np.pi * f0 * (k + 1) * t + rng.uniform(0, 2 * np.pi))
            for k in range(int(rng.integers(3, 12)))
        )
        x = x + 0.05 * rng.standard_normal(n)
    elif kind == "babble":  # Speech-band noise with syllable-rate envelopes.
        x = np.zeros(n)
        for _ in range(int(rng.integers(4, 9))):
            envelope = np.sin(2 * np.pi * rng.uniform(2.5, 6.0) * t + rng.uniform(0, 2 * np.pi)) ** 2
            x += rng.uniform(0.3, 1.0) * envelope * _colored(rng, n, 1.0, band=(200.0, 3500.0))
    else:
        x = _colored(rng, n, {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind])
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def _colored(
    rng: np.random.Generator, n: int, beta: float, band: tuple[float, float] | None = None
) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f**beta, optionally band-limited."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / _SAMPLE_RATE)
    spectrum *= np.maximum(freqs, 20.0) ** (-beta / 2)
    if band is not None:
        spectrum[(freqs < band[0]) | (freqs > band[1])] = 0
    return np.fft.irfft(spectrum, n)


def _write(path: pathlib.Path, clip: np.ndarray) -> None:
    pcm = np.round(np.clip(clip, -1.0, 1.0) * 32767).astype(np.int16)
    buffer = io.BytesIO()  # Written in one go: soundfile syncs every file it closes, which is slow.
    soundfile.write(buffer, pcm, _SAMPLE_RATE, subtype="PCM_16", format="WAV")
    path.write_bytes(buffer.getvalue())
