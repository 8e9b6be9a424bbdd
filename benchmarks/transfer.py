"""Transfer learning on real speech: kwsauto's pretrained backbone fine-tuned vs the same network from scratch.

Both arms use the same network, features (the backbone's: MFE 50x40), epochs, learning rate, batch size and
augmentation; the only differences are the starting weights and, for the pretrained arm, fine-tuning's usual
first epochs with the backbone frozen. Training sets are cut to K clips per class (5, 10, 25 and all), drawn per
seed; the validation set (best-epoch choice) is cut the same way, from other speakers; the test set is whole.

Datasets, with speakers the backbones never heard (they were pretrained on synthetic English voices only, no digit
words, no Arabic):

* FSDD (English digits, 8 kHz): test speakers theo and yweweler, validation nicolas, training george, jackson, lucas;
* Arabic Speech Commands (40 words): the dataset's own split, 6 test speakers.

    python benchmarks/transfer.py [--model mobilenetv1_025] [--seeds 3] [--shots 5,10,25,all]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import time
import warnings
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from kwsauto.data import ClipIndex, load_dataset
from kwsauto.features import FeatureSet, SplitTensors, compute_features
from kwsauto.models import ModelSpec, resolve
from kwsauto.pretrain import PRETRAIN_FEATURES
from kwsauto.training import TrainConfig, TrialConfig, evaluate, fit

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FSDD_SPLIT = {"theo": "test", "yweweler": "test", "nicolas": "val", "george": "train", "jackson": "train", "lucas": "train"}


def fsdd_index() -> ClipIndex:
    index = load_dataset(SHARED / "fsdd" / "recordings")
    clips = tuple(dataclasses.replace(c, split=FSDD_SPLIT[c.speaker]) for c in index.clips)
    return dataclasses.replace(index, clips=clips)


def arabic_index() -> ClipIndex:
    return load_dataset(SHARED / "arabic-speech-commands")


DATASETS = {"fsdd": fsdd_index, "arabic": arabic_index}


def _per_class(split: SplitTensors, k: int | None, generator: torch.Generator) -> SplitTensors:
    """At most ``k`` clips of each class, drawn with ``generator`` (all when ``k`` is None)."""
    if k is None:
        return split
    rows = []
    for label in split.labels.unique():
        members = torch.nonzero(split.labels == label).flatten()
        rows.append(members[torch.randperm(len(members), generator=generator)[:k]])
    rows = torch.cat(rows).sort().values
    return SplitTensors(split.features[rows], split.waves[rows], split.labels[rows])


def subset(features: FeatureSet, k: int | None, seed: int) -> FeatureSet:
    generator = torch.Generator().manual_seed(seed)
    splits = {
        "train": _per_class(features["train"], k, generator),
        "val": _per_class(features["val"], k, generator),
        "test": features["test"],
    }
    return FeatureSet(features.config, features.labels, splits, features.noise)


def epochs_for(n_train: int, batch_size: int) -> int:
    """About 400 optimizer steps, between 20 and 100 epochs: the same for both arms."""
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    return int(min(100, max(20, math.ceil(400 / steps_per_epoch))))


def run_arm(features: FeatureSet, model: str, pretrained: bool, seed: int, epochs: int, args) -> float:
    entry = resolve(model)
    config = TrialConfig(
        features.config,
        ModelSpec(entry.arch, entry.width, pretrained=pretrained),
        TrainConfig(
            epochs=epochs,
            learning_rate=args.lr,
            batch_size=args.batch_size,
            early_stopping_patience=0,
            seed=seed,
            freeze_epochs=max(1, epochs // 10) if pretrained else 0,
            backbone_lr_factor=args.backbone_lr_factor if pretrained else 1.0,
        ),
    )
    result = fit(features, config)
    return evaluate(result.model, features, "test").accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="mobilenetv1_025")
    parser.add_argument("--datasets", default="fsdd,arabic")
    parser.add_argument("--shots", default="5,10,25,all")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backbone-lr-factor", type=float, default=0.3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--json", type=Path, help="also write every run's accuracy here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    console = Console()
    shots = [None if s == "all" else int(s) for s in args.shots.split(",")]
    runs = []
    for name in args.datasets.split(","):
        index = DATASETS[name]()
        features = compute_features(index, PRETRAIN_FEATURES)
        console.print(
            f"[bold]{name}[/]: {len(index.labels)} classes; speakers train {len(index.speakers('train'))}, "
            f"val {len(index.speakers('val'))}, test {len(index.speakers('test'))}; test clips {len(index.split('test'))}"
        )
        for k in shots:
            for seed in range(args.seeds):
                part = subset(features, k, seed)
                epochs = epochs_for(len(part["train"].labels), args.batch_size)
                for pretrained in (True, False):
                    started = time.perf_counter()
                    accuracy = run_arm(part, args.model, pretrained, seed, epochs, args)
                    runs.append({"dataset": name, "shots": k or "all", "seed": seed, "pretrained": pretrained,
                                 "epochs": epochs, "train_clips": len(part["train"].labels),
                                 "test_accuracy": accuracy, "seconds": time.perf_counter() - started})
                    console.print(f"  {k or 'all'} clips/class, seed {seed}, {'pretrained' if pretrained else 'scratch'}"
                                  f": {100 * accuracy:.1f}% ({epochs} epochs, {runs[-1]['seconds']:.0f} s)", highlight=False)
                    if args.json:
                        args.json.write_text(json.dumps(runs, indent=2))
    table = Table(title=f"Transfer: {args.model} fine-tuned from kwsauto's backbone vs from scratch (test accuracy, "
                        f"mean ± std over {args.seeds} seeds)")
    for col in ("dataset", "clips/class", "train clips", "epochs", "from scratch", "pretrained", "gain (points)"):
        table.add_column(col, justify="left" if col == "dataset" else "right")
    for name in args.datasets.split(","):
        for k in shots:
            cell = [r for r in runs if r["dataset"] == name and r["shots"] == (k or "all")]
            scratch = [100 * r["test_accuracy"] for r in cell if not r["pretrained"]]
            pre = [100 * r["test_accuracy"] for r in cell if r["pretrained"]]
            gains = [p - s for p, s in zip(pre, scratch)]
            table.add_row(name, str(k or "all"), str(cell[0]["train_clips"]), str(cell[0]["epochs"]), _ms(scratch),
                          _ms(pre), _ms(gains, sign=True))
    console.print(table)


def _ms(values: list[float], sign: bool = False) -> str:
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:+.1f} ± {std:.1f}" if sign else f"{mean:.1f} ± {std:.1f}"


if __name__ == "__main__":
    main()
