"""Search quality: does kwsauto's pick beat simpler strategies on speakers never heard, within the same budget?

Rows, each run ``--seeds`` times on each proxy task (``_proxy_tasks.py``: ``kws12``, ten Arabic Speech Commands
words + unknown + noise; ``full40``, all 40 words; the dataset's own speaker split), ``--minutes`` of wall clock
per run, 64 KB on cortex-m4f-80mhz by default:

* ``kwsauto``: ``kwsauto search`` as a user runs it (default space, its seeds, TPE, pre-check, pruning);
* ``random``: Optuna's RandomSampler on the same space, no seeds, no pre-check, no pruning;
* ``ei``: Edge Impulse's default, MobileNetV1 0.1 fine-tuned from the pretrained backbone, 100 training cycles,
  lr 0.005, batch 32 (a fixed config: retrained with new seeds while time remains, the best by validation kept);
* ``mlperf``: the MLPerf Tiny DS-CNN on 49x10 MFCC inside kwsauto's pipeline, with MLPerf's recipe (Adam 0.001,
  36 epochs, batch 100), also repeated while time remains;
* ``reference``: the plain PyTorch reference recipe of ``reference_recipe.py``, trained once (no search).

The figure is the int8 TFLite test accuracy of what each row hands the user, beside the validation estimate that
row reports for it (the gap shows whether validation can be trusted). Every finished run is stored in
``OUT/results.json`` and skipped when the command is run again, so the benchmark (hours at 20 minutes a run)
can be spread over several sessions; an unfinished run starts again from scratch.

    python benchmarks/search_efficiency.py --minutes 20 [--tasks kws12,full40] [--rows ...] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proxy_tasks import DEFAULT_DATA, TASKS, dataset_options, load_task  # noqa: E402
from reference_recipe import FEATURES, reference  # noqa: E402

from kwsauto._io import atomic_write_text  # noqa: E402
from kwsauto.device import Budget  # noqa: E402
from kwsauto.export import quantize_features, quantize_graph, run_litert, trace_int8_graph, write_tflite  # noqa: E402
from kwsauto.features import compute_features  # noqa: E402
from kwsauto.search import SearchSettings, run_search  # noqa: E402
from kwsauto.units import parse_bytes  # noqa: E402

ROWS = ("kwsauto", "random", "ei", "mlperf", "reference")
FIXED = {
    "ei": """
features: {kind: mfe, frame_length_s: 0.02, frame_stride_s: 0.02, n_filters: 40}
model: {arch: mobilenetv1, width: 0.1, head_units: 0, dropout: 0.1, pretrained: true}
train: {epochs: 100, learning_rate: 0.005, batch_size: 32, early_stopping_patience: 0}
""",
    "mlperf": """
features: {kind: mfcc, frame_length_s: 0.04, frame_stride_s: 0.02, n_filters: 40, n_coefficients: 10, fft_length: 512}
model: {arch: dscnn, width: 1.0, head_units: 0, dropout: 0.2}
train: {epochs: 36, learning_rate: 0.001, batch_size: 100, early_stopping_patience: 0}
""",
}


def _search_options(row: str, out: Path) -> dict:
    if row == "kwsauto":
        return {"space": "default"}
    if row == "random":
        return {"space": "default", "sampler": "random", "pruner": "none", "precheck": False, "seeds": False}
    space = out.parent / f"{row}.yaml"
    atomic_write_text(space, FIXED[row])
    return {"space": str(space), "sampler": "random", "pruner": "none"}


def _search(row: str, task: str, seed: int, args: argparse.Namespace, out: Path) -> dict:
    started = time.perf_counter()
    result = run_search(SearchSettings(
        data=args.data, dataset=dataset_options(task), budget=Budget(ram_bytes=parse_bytes(args.budget)),
        device=args.device, time_limit_s=args.minutes * 60, out=out, study_name=f"{row}-{task}-{seed}", seed=seed,
        **_search_options(row, out),
    ))
    card = result.card
    if card is None:
        return {"int8_test": None, "val": None, "trials": len(result.rows), "seconds": time.perf_counter() - started}
    metrics = card.metrics  # a typed ModelCard: the int8 TFLite figure, else the ONNX int8 one
    return {
        "int8_test": metrics.test_accuracy_tflite if metrics.test_accuracy_tflite is not None
        else metrics.test_accuracy_int8,
        "float_test": metrics.test_accuracy,
        "val": metrics.val_accuracy,
        "model": card.model,
        "trials": len(result.rows),
        "seconds": time.perf_counter() - started,
    }


def _reference(task: str, seed: int, args: argparse.Namespace, out: Path) -> dict:
    started = time.perf_counter()
    features = compute_features(load_task(task, args.data), FEATURES)
    model, val, test = reference(features, seed, return_model=True)
    train_x = features["train"].features
    calibration = train_x[torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))[:512]]
    qgraph = quantize_graph(model, trace_int8_graph(model, FEATURES.shape), calibration)
    out.mkdir(parents=True, exist_ok=True)
    path = write_tflite(qgraph, out / "model_int8.tflite", labels=features.labels, feature_params=FEATURES.to_dict())
    scores = run_litert(path, quantize_features(path, features["test"].features))
    int8 = float(np.mean(scores.argmax(1) == features["test"].labels.numpy()))
    return {"int8_test": int8, "float_test": test, "val": val, "model": "dscnn 49x10", "trials": 1,
            "seconds": time.perf_counter() - started}


def _summary(results: list[dict], tasks: list[str], rows: list[str], minutes: float) -> Table:
    table = Table(title=f"Search quality · int8 TFLite test accuracy, mean ± std over seeds · {minutes:g} min a run")
    for column in ("task", "row", "runs", "int8 test %", "validation estimate %", "estimate − test", "trials"):
        table.add_column(column, justify="left" if column in ("task", "row") else "right")

    def fmt(values: list[float]) -> str:
        if not values:
            return "—"
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.1f} ± {spread:.1f}"

    for task in tasks:
        for row in rows:
            mine = [r for r in results if r["task"] == task and r["row"] == row and r["int8_test"] is not None]
            test = [100 * r["int8_test"] for r in mine]
            val = [100 * r["val"] for r in mine]
            gap = [v - t for v, t in zip(val, test)]
            trials = statistics.mean(r["trials"] for r in mine) if mine else 0
            table.add_row(task, row, str(len(mine)), fmt(test), fmt(val), fmt(gap), f"{trials:.0f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget of each search run")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", default="64KB")
    parser.add_argument("--device", default="cortex-m4f-80mhz")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-search-quality"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    tasks, rows = args.tasks.split(","), args.rows.split(",")
    for row in rows:
        if row not in ROWS:
            parser.error(f"unknown row {row!r}; choose from {ROWS}")
    console = Console()
    out = args.out / f"{args.minutes:g}min"
    results_path = out / "results.json"
    results: list[dict] = json.loads(results_path.read_text()) if results_path.is_file() else []
    for task in tasks:
        for seed in range(args.seeds):
            for row in rows:
                if any(r["task"] == task and r["row"] == row and r["seed"] == seed for r in results):
                    continue
                run_dir = out / task / f"{row}-{seed}"
                shutil.rmtree(run_dir, ignore_errors=True)  # an unfinished run starts again
                console.rule(f"{task} · {row} · seed {seed}")
                figures = (_reference(task, seed, args, run_dir) if row == "reference"
                           else _search(row, task, seed, args, run_dir))
                results.append({"task": task, "row": row, "seed": seed, **figures})
                atomic_write_text(results_path, json.dumps(results, indent=1))
                console.log(results[-1])
    console.print(_summary(results, tasks, rows, args.minutes))
    console.print(f"[dim]{results_path}; torch threads: {torch.get_num_threads()}; test split: official test speakers[/]")


if __name__ == "__main__":
    main()
