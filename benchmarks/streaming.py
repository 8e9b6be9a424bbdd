"""Streaming evidence: FAR/h and FRR at the calibrated setting on the test speakers, and `kwsauto stream`'s speed.

On Arabic Speech Commands' ``kws12`` proxy task (``_proxy_tasks.py``: ten words as keywords, the other thirty
``unknown``, plus a ``noise`` class; the dataset's speaker-disjoint split), with one DS-CNN:

1. the model: ``--model`` (a run folder or model_int8.tflite with its card), or one DS-CNN 0.5 trained here with
   the kwsauto API (a one-trial search on a fixed space, 14 epochs, background noise mixed under 80 % of the
   training clips and up to 400 ms of time shift: a model trained on clean clips alone calls every noisy keyword
   ``unknown``), kept in ``--out``;
2. calibration as ``kwsauto calibrate`` does it (the same streams, sweep and choice), for several FA/h targets
   at once: a validation stream (validation speakers) chooses the setting for each target, a test stream (test
   speakers) reports it; keywords at random gaps and gains, as many unknown words between them,
   silence, and background noise (the dataset's and ../shared/data/speech-commands-noise) at 20, 10 and 5 dB SNR;
3. ``kwsauto stream`` run as a user runs it, on the first ``--stream-minutes`` of the test stream written to a WAV:
   its real-time factor (scoring seconds per audio second, from its --json) and the command's wall time.

    python benchmarks/streaming.py [--model RUN_OR_TFLITE] [--max-keywords 100] [--targets 1,2,5,10,20,50] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import soundfile as sf
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proxy_tasks import DEFAULT_DATA, dataset_options, load_task  # noqa: E402

from kwsauto._streaming_api import default_noise_files  # noqa: E402
from kwsauto.device import Budget  # noqa: E402
from kwsauto.errors import KwsautoError  # noqa: E402
from kwsauto.evaluate import resolve_target  # noqa: E402
from kwsauto.export import fires  # noqa: E402
from kwsauto.search import SearchSettings, run_search  # noqa: E402
from kwsauto.streaming import SlidingScorer, StreamRecipe, build_stream, choose_setting, sweep  # noqa: E402

SPACE = """
features: {kind: mfe, frame_length_s: 0.02, frame_stride_s: 0.02, n_filters: 40}
model: {arch: dscnn, width: 0.5, head_units: 0, dropout: 0.1}
train: {epochs: 14, learning_rate: 0.005, batch_size: 32, early_stopping_patience: 0,
        augment: {noise: low, time_mask: low, time_shift_ms: 400, background_noise: 0.8}}
"""


def train_model(out: Path) -> Path:
    """One DS-CNN 0.5 on kws12 (a one-trial search on a fixed space), reused when ``out/run`` already has it."""
    run = out / "run"
    if (run / "best" / "model_int8.tflite").is_file():
        return run
    out.mkdir(parents=True, exist_ok=True)
    (out / "space.yaml").write_text(SPACE)
    run_search(SearchSettings(data=DEFAULT_DATA, space=str(out / "space.yaml"), out=run, n_trials=1, seed=0,
                              budget=Budget(ram_bytes=512 * 1024), dataset=dataset_options("kws12"),
                              study_name="streaming"))
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="run folder or model_int8.tflite (default: train one into --out)")
    parser.add_argument("--out", type=Path, default=Path("runs/streaming-benchmark"))
    parser.add_argument("--max-keywords", type=int, default=100, help="keyword clips per stream (default 100)")
    parser.add_argument("--targets", default="1,2,5,10,20,50", help="FA/h targets the setting is chosen for")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stream-minutes", type=float, default=5.0, help="audio `kwsauto stream` is timed on")
    args = parser.parse_args()
    console = Console(width=170)

    started = time.perf_counter()
    model = args.model or train_model(args.out)
    trained_s = time.perf_counter() - started
    target = resolve_target(model)
    tflite, labels = target.files["int8_tflite"], target.labels
    keywords = [label for label, keyword in zip(labels, fires(labels)) if keyword]
    index = load_task("kws12")
    recipe = StreamRecipe(seed=args.seed, max_keywords=args.max_keywords)
    scorer = SlidingScorer(tflite, labels, target.features, 100)
    started = time.perf_counter()
    streams, tracks = {}, {}
    for split in ("val", "test"):  # exactly the streams `kwsauto calibrate` builds (same recipe, noise, seed)
        streams[split] = build_stream(index, split, keywords, 16000, recipe, default_noise_files(index))
        tracks[split] = scorer.score_blocks(streams[split].blocks(), audio_s=streams[split].seconds)
    val_rows = sweep(tracks["val"], streams["val"])
    test_rows = {row.settings: row.score for row in sweep(tracks["test"], streams["test"])}
    scored_s = time.perf_counter() - started

    table = Table(title=f"Streaming on Arabic Speech Commands kws12 · {tflite} · chosen on validation speakers "
                        f"({streams['val'].hours:.2f} h), reported on test speakers ({streams['test'].hours:.2f} h, "
                        f"{len(streams['test'].events)} keywords)")
    for column in ("target FA/h", "average", "threshold", "suppression", "val FA/h", "val FRR", "test FA/h",
                   "test FRR", "test wrong keyword"):
        table.add_column(column, justify="right")
    for goal in (float(t) for t in args.targets.split(",")):
        try:
            chosen = choose_setting(val_rows, goal)
        except KwsautoError:
            table.add_row(f"{goal:g}", "none meets it", "", "", f"(lowest {min(r.score.far_per_hour for r in val_rows):.2f})",
                          "", "", "", "")
            continue
        s, test = chosen.settings, test_rows[chosen.settings]
        table.add_row(f"{goal:g}", f"{s.average_ms} ms", f"{s.threshold:g}", f"{s.suppression_ms} ms",
                      f"{chosen.score.far_per_hour:.2f}", f"{100 * chosen.score.frr:.1f}%",
                      f"{test.far_per_hour:.2f}", f"{100 * test.frr:.1f}%", f"{100 * test.wrong_keyword_rate:.1f}%")
    console.print(table)

    # `kwsauto stream` as a user runs it, on the first minutes of the test stream
    wav = args.out / "test_stream.wav"
    wav.parent.mkdir(parents=True, exist_ok=True)
    sf.write(wav, streams["test"].audio[: int(args.stream_minutes * 60 * 16000)], 16000, subtype="PCM_16")
    report = args.out / "stream.json"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kwsauto", "stream", str(tflite), str(wav), "--json", str(report)],
                   check=True, capture_output=True)
    command_s = time.perf_counter() - started
    streamed = json.loads(report.read_text())
    console.print(f"kwsauto stream on {streamed['audio_s'] / 60:.1f} min of the test stream: real-time factor "
                  f"{streamed['real_time_factor']:.3f} (scoring), {command_s / streamed['audio_s']:.3f} with the "
                  f"command's start-up ({command_s:.1f} s wall); scoring the two streams: real-time factor "
                  f"{(tracks['val'].seconds + tracks['test'].seconds) / (tracks['val'].audio_s + tracks['test'].audio_s):.3f}")
    console.print(f"time: model {trained_s:.0f} s (0 when reused), streams built and scored once and "
                  f"{2 * len(val_rows)} settings swept in {scored_s:.0f} s")


if __name__ == "__main__":
    main()
