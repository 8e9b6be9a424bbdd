"""espeak-ng speech synthesis and the clip shaping shared by the demo dataset and the pretraining corpus.

espeak-ng is GPL-3, so it lives behind the optional ``demo`` extra: the ``espeakng-loader`` wheel bundles
the shared library and its voice data, which are driven through :mod:`ctypes` (there is no program to run).

Reproducibility: espeak-ng keeps synthesis state (pitch-flutter phase, automatic gain, echo buffer) in C
statics that no API call resets, so one word spoken twice in a process comes out differently. Each voice
is therefore spoken by a private, freshly loaded copy of the library, which makes every file a function
of the seed and the voice's index alone.
"""

from __future__ import annotations

import _ctypes
import ctypes
import dataclasses
import functools
import io
import logging
import math
import os
import pathlib
import shutil
from typing import Any

import numpy as np
import soundfile

from kwsauto.errors import KwsautoError

__all__ = [
    "ACCENTS", "CLIP_SAMPLES", "NOISE_KINDS", "SAMPLE_RATE", "VARIANTS", "Espeak", "SpeechUnavailableError",
    "Voice", "locate_espeak", "noise", "place_word", "speak_word", "write_wav",
]

_logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE  # samples in one 1.0 s clip
_INSTALL_HINT = "Synthetic speech needs the 'demo' extra (espeak-ng, GPL-3): pip install 'kwsauto[demo]'"

# English accents; whichever the bundled data has are used, in this order.
ACCENTS = (
    "en", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-gb-x-rp", "en-us", "en-us-nyc",
)
# Human-sounding voice variants (files in espeak-ng-data/voices/!v); robotic,
# whispering and novelty variants are left out so the keywords stay clear.
VARIANTS = (
    "Alex", "Alicia", "Andrea", "Andy", "Annie", "Denis", "Gene", "Henrique", "Hugo", "Jacky", "Lee",
    "Marco", "Mario", "Michael", "Mike", "Nguyen", "Reed", "adam", "anika", "aunty", "belinda",
    "benjamin", "boris", "caleb", "david", "ed", "edward", "f1", "f2", "f3", "f4", "f5", "grandma",
    "grandpa", "gustave", "ian", "iven", "iven2", "iven3", "john", "klatt", "klatt2", "klatt3", "klatt4",
    "klatt6", "linda", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "max", "michel", "miguel",
    "norbert", "pablo", "paul", "pedro", "quincy", "rob", "robert", "sandro", "shelby", "steph",
    "travis", "victor", "zac",
)
NOISE_KINDS = ("white", "pink", "brown", "hum", "babble")

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH, _RANGE = 1, 3, 4
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class SpeechUnavailableError(KwsautoError, RuntimeError):
    """The optional espeak-ng dependency (the ``demo`` extra) is missing or broken: a one-line error naming the fix."""


def locate_espeak() -> tuple[pathlib.Path, pathlib.Path]:
    """Return the paths of the bundled espeak-ng library and its data folder."""
    try:
        import espeakng_loader
    except ImportError as exc:
        raise SpeechUnavailableError(_INSTALL_HINT) from exc
    try:
        lib_path = pathlib.Path(espeakng_loader.get_library_path())
        data_path = pathlib.Path(espeakng_loader.get_data_path())
    except Exception as exc:  # The loader raises a bare RuntimeError for missing data.
        raise SpeechUnavailableError(f"{_INSTALL_HINT} ({exc})") from exc
    if not lib_path.is_file():
        raise SpeechUnavailableError(f"{_INSTALL_HINT} (no library at {lib_path})")
    return lib_path, data_path


class Espeak:
    """One private, freshly initialised instance of the espeak-ng library."""

    def __init__(self, lib_path: pathlib.Path, data_path: pathlib.Path, workdir: pathlib.Path):
        # A copy under a new name makes the dynamic loader map fresh C statics (the pid keeps concurrent
        # processes, whose objects may share an id, from overwriting each other's copy).
        self._copy = workdir / f"libespeak-ng-{os.getpid()}-{id(self):x}{lib_path.suffix}"
        shutil.copyfile(lib_path, self._copy)
        try:
            self._lib = ctypes.CDLL(str(self._copy))
        except OSError as exc:  # e.g. a cache folder mounted noexec.
            _logger.warning("Cannot load a private espeak-ng copy (%s); output may vary.", exc)
            try:
                self._lib = ctypes.CDLL(str(lib_path))
            except OSError as exc2:
                raise SpeechUnavailableError(f"{_INSTALL_HINT} ({exc2})") from exc2
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
            raise SpeechUnavailableError(f"espeak-ng failed to initialise with data {data_path}.")
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

    def __enter__(self) -> Espeak:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclasses.dataclass(frozen=True)
class Voice:
    """One synthetic speaker: a fixed espeak-ng voice and prosody."""

    speaker: str
    voice: str
    rate: int
    pitch: int
    pitch_range: int


def speak_word(
    engine: Espeak, voice: Voice, word: str, rng: np.random.Generator, rate_bounds: tuple[int, int] = (100, 240)
) -> np.ndarray:
    """``voice`` says ``word`` once, with per-utterance jitter of rate, pitch and range and a random intonation
    (statement, exclamation, question), placed in a noisy 1 s clip at 16 kHz (see :func:`place_word`)."""
    text = word + str(rng.choice([".", "!", "?", ""], p=[0.55, 0.2, 0.15, 0.1]))
    samples = engine.synth(
        text,
        voice.voice,
        rate=int(np.clip(voice.rate * rng.uniform(0.9, 1.1), *rate_bounds)),
        pitch=int(np.clip(voice.pitch + rng.integers(-5, 6), 0, 99)),
        pitch_range=int(np.clip(voice.pitch_range + rng.integers(-10, 11), 0, 99)),
        seed=int(rng.integers(1, 2**31)),
    )
    return place_word(samples, engine.sample_rate, rng)


def place_word(samples: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Trim, resample to 16 kHz and drop a word at a random time in a noisy 1 s clip."""
    speech = _resample(_trim(samples.astype(np.float32) / 32768.0, rate), rate)
    if len(speech) > CLIP_SAMPLES:  # Rare (slow voices): keep the start, fade out the cut.
        speech = speech[:CLIP_SAMPLES].copy()
        speech[-160:] *= np.linspace(1.0, 0.0, 160, dtype=np.float32)
    peak = float(np.max(np.abs(speech))) or 1.0
    speech = speech * (10 ** (rng.uniform(-20.0, -3.0) / 20) / peak)
    start = int(rng.integers(0, CLIP_SAMPLES - len(speech) + 1))
    clip = np.zeros(CLIP_SAMPLES)
    clip[start : start + len(speech)] = speech
    speech_rms = float(np.sqrt(np.mean(speech**2)))
    snr_db = rng.uniform(25.0, 45.0)
    kind = NOISE_KINDS[int(rng.integers(3))]  # white, pink or brown
    return clip + speech_rms * 10 ** (-snr_db / 20) * noise(kind, rng)


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
    gcd = math.gcd(rate, SAMPLE_RATE)
    up, down = SAMPLE_RATE // gcd, rate // gcd
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


def noise(kind: str, rng: np.random.Generator, n: int = CLIP_SAMPLES) -> np.ndarray:
    """Return ``n`` samples of unit-RMS noise of the given kind (never speech)."""
    t = np.arange(n) / SAMPLE_RATE
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
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum *= np.maximum(freqs, 20.0) ** (-beta / 2)
    if band is not None:
        spectrum[(freqs < band[0]) | (freqs > band[1])] = 0
    return np.fft.irfft(spectrum, n)


def write_wav(path: pathlib.Path, clip: np.ndarray) -> None:
    pcm = np.round(np.clip(clip, -1.0, 1.0) * 32767).astype(np.int16)
    buffer = io.BytesIO()  # Written in one go: soundfile syncs every file it closes, which is slow.
    soundfile.write(buffer, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    path.write_bytes(buffer.getvalue())
