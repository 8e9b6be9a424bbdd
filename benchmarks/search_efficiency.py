"""Search efficiency: kwsauto's search against simpler strategies, same wall-clock budget each, on real speech.

Strategies (Arabic Speech Commands, official speaker split, 64 KB on cortex-m4f-80mhz by default):

* ``kwsauto``: the default space's seed configurations first, then TPE, with the pre-training feasibility
  check and median pruning;
* ``random, no pre-check``: Optuna's RandomSampler on the same space, every sampled model trained (an
  infeasible one is found out only after training, as a tool without a device model would);
* ``Edge Impulse default``: MobileNetV1 α0.1, 100 training cycles, lr 0.005, batch 32 (one fixed config);
* ``MLPerf Tiny DS-CNN``: the reference DS-CNN on 49x10 MFCC trained by the same pipeline.

Prints the best feasible model's test accuracy (chosen by validation accuracy) at several points in time,
trials run, and trials (and seconds) wasted on infeasible models.

    python benchmarks/search_efficiency.py --minutes 20 [--data ../shared/data/arabic-speech-commands]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from kwsauto.data import load_dataset
from kwsauto.device import Budget
from kwsauto.features import compute_features
from kwsauto.models import create_model
from kwsauto.search import RunFolder, SearchSettings, open_study, run_search
from kwsauto.training import TrialConfig, evaluate

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arabic-speech-commands"
FIXED = {
    "ei_default": """
features: {kind: mfe, frame_length_s: 0.02, frame_stride_s: 0.02, n_filters: 40}
model: {arch: mobilenetv1, width: 0.1, head_units: 0, dropout: 0.1}
train: {epochs: 100, learning_rate: 0.005, batch_size: 32, early_stopping_patience: 0}
""",
    "dscnn": """
features: {kind: mfcc, frame_length_s: 0.04, frame_stride_s: 0.02, n_filters: 40, n_coefficients: 10, fft_length: 1024}
model: {arch: dscnn, width: 1.0, head_units: 0, dropout: 0.2}
train: {epochs: 36, learning_rate: 0.001, batch_size: 100, early_stopping_patience: 0}
""",
}
# A fixed config is a space without distributions: one trial, repeated with new seeds while time remains.


def _strategies(out: Path) -> list[tuple[str, dict]]:
    spaces = {}
    for name, text in FIXED.items():
        path = out / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        spaces[name] = str(path)
    return [
        ("kwsauto (seeds + TPE + pre-check + pruning)", {"space": "default", "sampler": "tpe", "pruner": "median"}),
        ("random, no pre-check", {"space": "default", "sampler": "random", "pruner": "none", "precheck": False,
                                  "seeds": False}),
        ("Edge Impulse default (MobileNetV1 0.1)", {"space": spaces["ei_default"], "sampler": "random", "pruner": "none"}),
        ("MLPerf Tiny DS-CNN", {"space": spaces["dscnn"], "sampler": "random", "pruner": "none"}),
    ]


def _test_accuracy(run: RunFolder, trial, index) -> float:
    config = TrialConfig.from_dict(trial.user_attrs["config"])
    features = compute_features(index, config.features)
    model = create_model(config.model, len(index.labels), config.features.shape)
    model.load_state_dict(run.load_trial_state(trial.number, trial))
    return evaluate(model.eval(), features, "test").accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget per strategy")
    parser.add_argument("--budget", default="64KB")
    parser.add_argument("--device", default="cortex-m4f-80mhz")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-search-efficiency"))
    parser.add_argument("--only", help="comma-separated strategy numbers to run (1-4)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from kwsauto.units import parse_bytes

    index = load_dataset(args.data)
    checkpoints = [0.25, 0.5, 0.75, 1.0]
    table = Table(title=f"Search efficiency · {args.data.name} · {args.budget} on {args.device} · {args.minutes:g} min each")
    table.add_column("strategy")
    for fraction in checkpoints:
        table.add_column(f"test acc @{fraction * args.minutes:g} min", justify="right")
    for column in ("trials", "infeasible", "wasted s"):
        table.add_column(column, justify="right")
    chosen = {int(i) for i in args.only.split(",")} if args.only else None
    for number, (name, options) in enumerate(_strategies(args.out), start=1):
        if chosen and number not in chosen:
            continue
        out = args.out / f"strategy{number}"
        started = time.time()
        fixed = not options["space"] == "default"
        result = run_search(SearchSettings(
            data=args.data, budget=Budget(ram_bytes=parse_bytes(args.budget)), device=args.device,
            n_trials=None if not fixed else 1000, time_limit_s=args.minutes * 60, out=out, study_name=f"s{number}",
            seed=number if fixed else 0, **options,
        ))
        study = open_study(result.run, f"s{number}")
        trials = [t for t in study.trials if t.datetime_complete is not None]
        cells = []
        for fraction in checkpoints:
            cutoff = started + fraction * args.minutes * 60 + 5
            done = [t for t in trials if t.datetime_complete.timestamp() <= cutoff and t.user_attrs.get("feasible")
                    and t.values and t.state.name == "COMPLETE"]
            best = max(done, key=lambda t: (t.values[0], -t.number), default=None)
            cells.append("" if best is None else f"{100 * _test_accuracy(result.run, best, index):.1f}%")
        infeasible = [t for t in trials if t.user_attrs.get("feasible") is False]
        wasted = sum(t.user_attrs.get("wasted_seconds", 0.0) for t in infeasible)
        table.add_row(name, *cells, str(len(trials)), str(len(infeasible)), f"{wasted:.0f}")
        Console().print(table)
    Console().print(f"[dim]torch threads: {torch.get_num_threads()}; test split: official test speakers[/]")


if __name__ == "__main__":
    main()
