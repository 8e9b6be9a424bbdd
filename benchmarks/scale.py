"""How the data pipeline and an epoch scale with the number of clips: 1,000 to 100,000 real WAV files.

For each size, a synthetic labelled dataset of one-second 16 kHz PCM WAV files (tone bursts whose pitch says the
label, ten labels, speakers shifting pitch and timing) is written to a temporary folder in Speech Commands layout;
then, in a fresh process so that its peak resident memory is its own, the clips are decoded and featurized into an
empty cache, and one epoch of DS-CNN and of MobileNetV1 0.25 is trained on them. Printed per size: decode+feature
time, clips/s, cache bytes, resident memory after the imports and at its peak, and the time of a one-epoch
``fit`` per model (training plus validation, as a trial runs it).

    python benchmarks/scale.py                          # 1,000, 10,000 and 100,000 clips
    python benchmarks/scale.py --sizes 1000 --accelerator cpu
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from rich.console import Console
from rich.table import Table

RATE_HZ = 16000
LABELS = tuple(f"tone{i}" for i in range(10))
MODELS = ("dscnn", "mobilenetv1_025")


def tone(label_index: int, speaker: int, rep: int) -> np.ndarray:
    """A 0.4 s tone burst in one second of faint noise; the pitch says the label, the speaker shifts it a little."""
    rng = np.random.default_rng((label_index * 1_000_003 + speaker * 1009 + rep) % 2**32)
    t = np.arange(RATE_HZ) / RATE_HZ
    freq = 250.0 * 1.35**label_index * (1 + 0.03 * (speaker % 7 - 3)) * (1 + 0.01 * rng.standard_normal())
    start = rng.uniform(0.05, 0.5)
    envelope = ((t > start) & (t < start + 0.4)).astype(np.float32)
    return (0.5 * envelope * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(RATE_HZ)).astype(np.float32)


def write_dataset(root: Path, n_clips: int) -> Path:
    """``root/<label>/spkNNNN_nohash_R.wav``: ``n_clips`` files, two clips per speaker and label."""
    per_speaker = 2
    for i in range(n_clips):
        label = i % len(LABELS)
        speaker, rep = divmod(i // len(LABELS), per_speaker)
        folder = root / LABELS[label]
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"spk{speaker:05d}_nohash_{rep}.wav", tone(label, speaker, rep), RATE_HZ, subtype="PCM_16")
    return root


@dataclass(frozen=True)
class Measured:
    clips: int
    generate_s: float
    features_s: float
    cache_bytes: int
    start_rss_bytes: int  # after the imports, before any data: what torch and Lightning take by themselves
    peak_rss_bytes: int
    epoch_s: dict[str, float]
    device: str


def _measure(root: Path, cache: Path, n_clips: int, generate_s: float, accelerator: str, queue) -> None:
    """In a fresh process: features into an empty cache, then one epoch per model."""
    warnings.filterwarnings("ignore")
    import logging

    logging.disable(logging.WARNING)
    from kwsauto.data import load_dataset
    from kwsauto.features import FeatureConfig, compute_features
    from kwsauto.models import ModelSpec, resolve
    from kwsauto.training import HardwareRequest, TrainConfig, TrialConfig, fit, resolve_hardware

    hardware = resolve_hardware(HardwareRequest(accelerator))
    start_rss = _rss_bytes()
    config = FeatureConfig(frame_stride_s=0.02)  # 50x40 MFE, the shipped backbones' front end
    started = time.perf_counter()
    features = compute_features(load_dataset(root), config, cache_dir=cache, device=hardware.device)
    features_s = time.perf_counter() - started
    cache_bytes = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    epoch_s = {}
    for name in MODELS:
        entry = resolve(name)
        trial = TrialConfig(config, ModelSpec(entry.arch, entry.width),
                            TrainConfig(epochs=1, batch_size=64, early_stopping_patience=0))
        epoch_s[name] = fit(features, trial, hardware=hardware).seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    queue.put(Measured(n_clips, generate_s, features_s, cache_bytes, start_rss, peak, epoch_s, hardware.label))


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def measure(n_clips: int, accelerator: str, workdir: Path) -> Measured:
    root, cache = workdir / f"data-{n_clips}", workdir / f"cache-{n_clips}"
    started = time.perf_counter()
    write_dataset(root, n_clips)
    generate_s = time.perf_counter() - started
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(root, cache, n_clips, generate_s, accelerator, queue))
    process.start()
    result = queue.get()
    process.join()
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return result


def table(results: list[Measured]) -> Table:
    out = Table(title=f"Scale · {results[0].device} · 50x40 MFE · batch 64")
    columns = ["clips", "WAV written", "decode+features", "clips/s", "cache", "RSS at start", "peak RSS",
               *(f"epoch {m}" for m in MODELS)]
    for column in columns:
        out.add_column(column, justify="right")
    for r in results:
        out.add_row(
            f"{r.clips:,}", f"{r.generate_s:.1f} s", f"{r.features_s:.1f} s", f"{r.clips / r.features_s:,.0f}",
            f"{r.cache_bytes / 1e6:,.1f} MB", f"{r.start_rss_bytes / 1e9:.2f} GB", f"{r.peak_rss_bytes / 1e9:.2f} GB",
            *(f"{r.epoch_s[m]:.1f} s" for m in MODELS),
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated clip counts")
    parser.add_argument("--accelerator", default="auto", help="auto|cpu|gpu, as on `kwsauto search`")
    parser.add_argument("--workdir", type=Path, help="folder for the temporary datasets (default: the system's temp)")
    args = parser.parse_args()
    console = Console(width=160)
    results = []
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="kwsauto-scale-") as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            results.append(measure(n, args.accelerator, Path(tmp)))
            console.print(table(results))


if __name__ == "__main__":
    main()
