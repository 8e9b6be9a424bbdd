"""The synthetic English word corpus that kwsauto's backbones are pretrained on.

Hundreds of common English words, each spoken once by every one of many espeak-ng voices (accent, voice
variant, rate, pitch and pitch range drawn per voice, jittered per word), dropped at a random time into a
1 s clip with white, pink or brown noise at 25-45 dB SNR, plus ten seconds of each synthetic background
noise kind (white, pink, brown, mains hum, babble) in ``_background_noise_/`` for mixing during training.
It is laid out like Speech Commands (``<word>/<voice>_nohash_<n>.wav``), so the regular loader and its
speaker-disjoint split apply: the validation accuracy of a pretraining run is on voices it never heard.

The digit words (``zero`` ... ``nine``, ``oh``) are left out on purpose: kwsauto's transfer benchmark
fine-tunes on spoken digits (FSDD), and words the backbone has never heard make that a fair test.

Generated once into the cache folder (about a minute for 300 words x 80 voices), in a temporary folder
renamed into place when complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import pathlib
import time
from typing import Any

import numpy as np

from kwsauto.data._cache import build_folder, default_cache_dir
from kwsauto.data._speech import ACCENTS, NOISE_KINDS, SAMPLE_RATE, VARIANTS, Espeak, Voice, locate_espeak, noise
from kwsauto.data._speech import speak_word, write_wav

__all__ = ["DIGIT_WORDS", "PRETRAIN_WORDS", "CorpusSpec", "ensure_word_corpus"]

_logger = logging.getLogger(__name__)

_VERSION = 1
_MANIFEST = "manifest.json"
_NOISE_DIR = "_background_noise_"
_NOISE_SECONDS = 10

DIGIT_WORDS = frozenset({"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"})

# Common short English words: the usual voice commands first, then everyday nouns, verbs and adjectives.
PRETRAIN_WORDS: tuple[str, ...] = (
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "start", "play", "pause", "next",
    "back", "forward", "open", "close", "lock", "unlock", "light", "lights", "fan", "music", "volume", "louder",
    "quiet", "mute", "call", "answer", "cancel", "help", "hello", "hey", "okay", "wake", "sleep", "home",
    "menu", "select", "enter", "skip", "repeat", "again", "faster", "slower", "higher", "lower", "warmer",
    "cooler", "bed", "bird", "cat", "dog", "house", "tree", "wow", "green", "red", "blue", "yellow", "orange",
    "purple", "black", "white", "brown", "pink", "gray", "happy", "sad", "good", "bad", "big", "small", "hot",
    "cold", "new", "old", "fast", "slow", "high", "low", "early", "late", "first", "last", "more", "less",
    "water", "coffee", "tea", "milk", "bread", "apple", "banana", "cheese", "pizza", "dinner", "lunch",
    "breakfast", "kitchen", "garden", "window", "door", "table", "chair", "phone", "camera", "radio",
    "television", "computer", "keyboard", "mouse", "screen", "battery", "power", "button", "switch", "timer",
    "alarm", "clock", "morning", "evening", "night", "today", "tomorrow", "yesterday", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "january", "march", "april", "june", "july",
    "august", "october", "december", "summer", "winter", "spring", "autumn", "rain", "snow", "wind", "cloud",
    "sun", "moon", "star", "river", "mountain", "ocean", "forest", "city", "street", "road", "car", "train",
    "bus", "plane", "boat", "bike", "ticket", "money", "price", "shop", "market", "school", "teacher",
    "student", "doctor", "nurse", "police", "family", "mother", "father", "sister", "brother", "baby",
    "friend", "people", "person", "woman", "man", "child", "name", "number", "letter", "word", "question",
    "problem", "idea", "story", "picture", "movie", "song", "game", "party", "holiday", "travel", "hotel",
    "room", "office", "meeting", "project", "report", "email", "message", "paper", "pencil", "book", "page",
    "chapter", "language", "english", "music", "guitar", "piano", "violin", "drum", "dance", "sing", "walk",
    "run", "jump", "swim", "drive", "fly", "read", "write", "listen", "speak", "look", "watch", "wait",
    "follow", "turn", "push", "pull", "lift", "drop", "throw", "catch", "find", "keep", "give", "take",
    "bring", "send", "buy", "sell", "pay", "cook", "clean", "wash", "fix", "build", "break", "cut", "paint",
    "draw", "learn", "teach", "think", "know", "remember", "forget", "begin", "finish", "change", "move",
    "show", "hide", "save", "delete", "record", "search", "search", "connect", "download", "upload",
    "update", "reset", "shutdown", "restart", "zoom", "scroll", "capture", "marvin", "sheila", "visual",
    "learn", "beautiful", "simple", "strong", "gentle", "bright", "dark", "empty", "full", "heavy", "light",
    "soft", "loud", "sweet", "sour", "bitter", "salty", "fresh", "clean", "dirty", "ready", "busy", "free",
    "safe", "danger", "emergency", "fire", "smoke", "heat", "ice", "sugar", "salt", "pepper", "lemon",
    "tomato", "potato", "carrot", "onion", "chicken", "fish", "rice", "pasta", "soup", "salad", "cake",
    "cookie", "chocolate", "candy", "juice", "window", "yellow", "zebra", "tiger", "lion", "monkey",
    "elephant", "rabbit", "horse", "sheep", "cow", "pig", "duck", "frog", "snake", "spider", "turtle",
)


def _unique(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(words))


@dataclasses.dataclass(frozen=True)
class CorpusSpec:
    """What a word corpus holds: its words, how many voices speak each, and the seed of every choice."""

    words: tuple[str, ...] = dataclasses.field(default_factory=lambda: _unique(PRETRAIN_WORDS))
    n_voices: int = 80
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_voices < 2:
            raise ValueError(f"A corpus needs at least 2 voices (one to validate on), got n_voices={self.n_voices}.")
        if len(self.words) < 2 or len(set(self.words)) != len(self.words):
            raise ValueError("A corpus needs at least 2 distinct words, each listed once.")
        bad = [w for w in self.words if not w.isalpha() or not w.islower()]
        if bad:
            raise ValueError(f"Corpus words must be lower-case letters only, but got {bad[:3]}.")

    @property
    def key(self) -> str:
        """A short hash of the spec: the corpus folder's name."""
        text = json.dumps({"v": _VERSION, "words": self.words, "voices": self.n_voices, "seed": self.seed})
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def describe(self) -> str:
        return (
            f"synthetic English words, espeak-ng: {len(self.words)} words x {self.n_voices} voices "
            f"(seed {self.seed}), no digit words"
        )


def ensure_word_corpus(spec: CorpusSpec | None = None, cache_dir: pathlib.Path | None = None) -> pathlib.Path:
    """Return the folder of the corpus ``spec`` describes, generating it on first use.

    Raises:
        kwsauto.data._speech.SpeechUnavailableError: espeak-ng (the ``demo`` extra) is not installed.
    """
    spec = spec or CorpusSpec()
    root = pathlib.Path(cache_dir) if cache_dir is not None else default_cache_dir()
    final = root / f"words-v{_VERSION}-{spec.key}"
    if (final / _MANIFEST).is_file():
        return final
    lib_path, data_path = locate_espeak()
    start = time.perf_counter()
    _logger.info("Generating the pretraining word corpus in %s (one-off): %s.", final, spec.describe())
    manifest = build_folder(final, lambda tmp: _generate(tmp, lib_path, data_path, spec), _MANIFEST)
    _logger.info("Word corpus ready in %.0f s: %d clips.", time.perf_counter() - start, manifest["clips"])
    return final


def _generate(out: pathlib.Path, lib_path: pathlib.Path, data_path: pathlib.Path, spec: CorpusSpec) -> dict[str, Any]:
    for word in spec.words:
        (out / word).mkdir(parents=True)
    with Espeak(lib_path, data_path, out) as probe:
        accents = [a for a in ACCENTS if probe.has_voice(a)] or ["en"]
        version = probe.version
    variants = [v for v in VARIANTS if (data_path / "voices" / "!v" / v).is_file()]
    voices = _speak_all(out, lib_path, data_path, spec, accents, variants)
    (out / _NOISE_DIR).mkdir()
    for n, kind in enumerate(NOISE_KINDS):
        rng = np.random.default_rng([spec.seed, 3, n])
        write_wav(out / _NOISE_DIR / f"{kind}.wav", 0.1 * noise(kind, rng, SAMPLE_RATE * _NOISE_SECONDS))
    return {
        "version": _VERSION,
        "description": spec.describe(),
        "words": list(spec.words),
        "n_voices": spec.n_voices,
        "seed": spec.seed,
        "clips": len(spec.words) * spec.n_voices,
        "espeak_ng_version": version,
        "voices": voices,
    }


def _speak_all(
    out: pathlib.Path, lib_path: pathlib.Path, data_path: pathlib.Path, spec: CorpusSpec, accents: list[str],
    variants: list[str],
) -> list[dict[str, Any]]:
    """Speak every voice in a child process, two at a time.

    espeak-ng crashes (SIGSEGV) on a few rare combinations of voice, word and prosody. A child that dies is
    rerun with the voice's next random stream, so the corpus stays a function of the spec alone.
    """
    ctx = multiprocessing.get_context("fork")
    pending = [(index, 0) for index in range(spec.n_voices)]
    running: list[tuple[Any, int, int]] = []
    parallel = max(1, min(2, os.cpu_count() or 1))
    while pending or running:
        while pending and len(running) < parallel:
            index, attempt = pending.pop(0)
            proc = ctx.Process(
                target=_speak_voice, args=(out, lib_path, data_path, spec, accents, variants, index, attempt)
            )
            proc.start()
            running.append((proc, index, attempt))
        proc, index, attempt = running.pop(0)
        proc.join()
        if proc.exitcode != 0:
            if attempt >= 5:
                raise RuntimeError(f"espeak-ng crashed on voice {index} five times (exit code {proc.exitcode}).")
            _logger.info("espeak-ng crashed on voice %d (exit %s); retrying with its next stream.", index, proc.exitcode)
            pending.insert(0, (index, attempt + 1))
    return [json.loads((out / f".voice-{i:03d}.json").read_text()) for i in range(spec.n_voices)]


def _speak_voice(
    out: pathlib.Path, lib_path: pathlib.Path, data_path: pathlib.Path, spec: CorpusSpec, accents: list[str],
    variants: list[str], index: int, attempt: int,
) -> None:
    """Child process: voice ``index`` says every word once; files are written under ``out``."""
    rng = np.random.default_rng([spec.seed, 2, index, attempt])
    variant = variants[int(rng.integers(len(variants)))] if variants else ""
    voice = Voice(
        speaker=f"w{index:03d}",
        voice=accents[int(rng.integers(len(accents)))] + (f"+{variant}" if variant else ""),
        rate=int(rng.integers(110, 211)),
        pitch=int(rng.integers(15, 86)),
        pitch_range=int(rng.integers(15, 96)),
    )
    with Espeak(lib_path, data_path, out) as engine:
        for word in spec.words:
            clip = speak_word(engine, voice, word, rng, rate_bounds=(90, 250))
            write_wav(out / word / f"{voice.speaker}_nohash_0.wav", clip)
    record = {**dataclasses.asdict(voice), "attempt": attempt}
    (out / f".voice-{index:03d}.json").write_text(json.dumps(record), encoding="utf-8")
