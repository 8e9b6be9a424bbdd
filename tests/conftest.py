"""Shared fixtures: tiny datasets of synthetic tones, written as real audio files, so tests own their data.

Under ``CI`` (set by ``.ci/run``) a skipped test fails, unless its file is listed in ``CI_ALLOWED_SKIPS`` with the
reason CI cannot run it: a capability CI quietly stops testing is a regression nobody sees.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

# The only skips CI accepts: test file -> (the skip message it may give, why a clean clone cannot run it).
_LOCAL_SPEECH = ("real speech not found", "the real-speech corpus is local data (../shared/data), not in a clone")
CI_ALLOWED_SKIPS = {
    "tests/export/test_real_speech.py": _LOCAL_SPEECH,
    "tests/export/test_frontend_c.py": _LOCAL_SPEECH,
    "tests/training/test_hardware.py": ("no CUDA GPU", "CI machines have no GPU; the GPU path is checked where one is lent"),
    "tests/reliability/test_matrix_audio.py": ("root reads a file whatever its permissions",
                                               "a CI container runs as root; a user's run checks unreadable files"),
}

LABELS = ("low", "mid", "high")
_FREQS = {"low": 300.0, "mid": 900.0, "high": 2500.0}


def tone_clip(label: str, speaker: int, rep: int, rate: int = 16000, seconds: float = 1.0) -> np.ndarray:
    """A short tone burst whose pitch says the label; speakers shift pitch and timing a little."""
    rng = np.random.default_rng(zlib.crc32(f"{label}/{speaker}/{rep}".encode()))  # the same clip in every process
    n = int(rate * seconds)
    t = np.arange(n) / rate
    freq = _FREQS[label] * (1 + 0.04 * (speaker - 3)) * (1 + 0.02 * rng.standard_normal())
    start = rng.uniform(0.1, 0.4)
    envelope = ((t > start) & (t < start + 0.4)).astype(np.float64)
    wave = 0.5 * envelope * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(n)
    return wave.astype(np.float32)


def write_tone_dataset(root: Path, speakers: int = 6, reps: int = 2, labels=LABELS) -> Path:
    """``root/<label>/<spk>_nohash_<rep>.wav``: a folder per label, Speech Commands file names."""
    for label in labels:
        (root / label).mkdir(parents=True, exist_ok=True)
        for s in range(speakers):
            for r in range(reps):
                sf.write(root / label / f"spk{s:02d}_nohash_{r}.wav", tone_clip(label, s, r), 16000, subtype="PCM_16")
    return root


@pytest.fixture(scope="session")
def tone_dataset(tmp_path_factory) -> Path:
    return write_tone_dataset(tmp_path_factory.mktemp("tones"), speakers=8, reps=6)


# 20 ms frames, 40 mel filters: 50x40 MFE, the tests' usual input (and the shipped backbones' features)
TONE_FEATURES_CONFIG = {"kind": "mfe", "frame_length_s": 0.02, "frame_stride_s": 0.02, "n_filters": 40}


@pytest.fixture(scope="session")
def tone_features(tone_dataset):
    """``tone_dataset`` as 50x40 MFE features, computed once per session."""
    from kwsauto.data import load_dataset
    from kwsauto.features import FeatureConfig, compute_features

    return compute_features(load_dataset(tone_dataset), FeatureConfig(**TONE_FEATURES_CONFIG))


def tiny_space(
    epochs: int = 3,
    widths: tuple[float, ...] = (0.25, 0.5),
    *,
    archs: tuple[str, ...] = ("dscnn",),
    learning_rate: tuple[float, float] | None = (0.002, 0.01),
    early_stopping_patience: int | None = None,
) -> str:
    """The YAML of the tests' search spaces: small models on 20 ms frames, a few epochs, a log-uniform rate."""
    arch = archs[0] if len(archs) == 1 else f"{{choices: [{', '.join(archs)}]}}"
    lines = [
        "features: {frame_stride_s: 0.02}",
        "model:",
        f"  arch: {arch}",
        f"  width: {{choices: [{', '.join(str(w) for w in widths)}]}}",
        "train:",
        f"  epochs: {epochs}",
        "  batch_size: 16",
    ]
    if early_stopping_patience is not None:
        lines.append(f"  early_stopping_patience: {early_stopping_patience}")
    if learning_rate is not None:
        lines.append(f"  learning_rate: {{float: [{learning_rate[0]}, {learning_rate[1]}], log: true}}")
    return "\n".join(lines) + "\n"


def write_tiny_space(folder: Path, name: str = "space.yaml", **options) -> Path:
    """:func:`tiny_space` written to ``folder/name``; returns the path."""
    path = folder / name
    path.write_text(tiny_space(**options))
    return path


@pytest.fixture(scope="session")
def tiny_run(tone_dataset, tmp_path_factory) -> Path:
    """One tiny real search on the tones (5 trials, 48 KB): trained and infeasible trials, an exported best model."""
    from kwsauto.device import Budget
    from kwsauto.search import SearchSettings, run_search

    root = tmp_path_factory.mktemp("report-run")
    # dscnn_025 fits 48 KB, dscnn at width 1.0 does not: the run has trained and infeasible trials
    space = write_tiny_space(root, epochs=2, widths=(0.25, 1.0))
    out = root / "run"
    settings = SearchSettings(
        data=tone_dataset,
        space=str(space),
        out=out,
        budget=Budget(ram_bytes=48 * 1024),
        sampler="random",
        n_trials=5,
        seed=1,
    )
    result = run_search(settings)
    states = [r["state"] for r in result.rows]
    assert states.count("complete") >= 2 and "infeasible" in states, (
        f"the fixture needs trained and infeasible trials: {states}"
    )
    assert (out / "best" / "model_int8.tflite").is_file()
    return out


def save_random_backbone(path: Path, arch: str = "mobilenetv1", width: float = 0.1, *, features=None,
                         labels: tuple[str, ...] = tuple("abcde"), recipe: dict | None = None):
    """An untrained network's backbone saved as a kwsauto checkpoint (50x40 MFE unless ``features``); returns the net."""
    from kwsauto.features import FeatureConfig
    from kwsauto.models import ModelSpec, create_model, save_backbone_checkpoint

    features = features or FeatureConfig(**TONE_FEATURES_CONFIG)
    net = create_model(ModelSpec(arch, width), len(labels), features.shape)
    save_backbone_checkpoint(path, net.backbone, arch=arch, width=width, features=features.to_dict(),
                             labels=labels, recipe=recipe or {})
    return net


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes its caches into one per-session temp folder, never into the user's cache."""
    monkeypatch.setenv("KWSAUTO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session", autouse=True)
def _threads():
    import torch

    torch.set_num_threads(1)  # tiny models: threading costs more than it gains, and keeps the suite steady


def _skip_reason(report) -> str:
    return report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)


def _ci_forbids(report) -> bool:
    if not (report.skipped and os.environ.get("CI")) or hasattr(report, "wasxfail"):
        return False
    allowed = CI_ALLOWED_SKIPS.get(report.nodeid.split("::")[0])
    return allowed is None or allowed[0] not in _skip_reason(report)


def _fail_the_skip(report) -> None:
    reason = _skip_reason(report)
    report.outcome = "failed"
    report.longrepr = (f"skipped under CI ({reason}); make CI provide what the test needs, or list the file with "
                       f"its reason in CI_ALLOWED_SKIPS in tests/conftest.py")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _ci_forbids(report):
        _fail_the_skip(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if _ci_forbids(report):  # a module-level skip or importorskip
        _fail_the_skip(report)
