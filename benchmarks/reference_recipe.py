"""The plain PyTorch reference recipe against kwsauto's own training pipeline, same DS-CNN, same features.

The reference is what a practitioner writes in an afternoon: the MLPerf Tiny DS-CNN on 49x10 MFCC, 40 epochs,
AdamW (weight decay 0.01), one-cycle learning rate peaking at 3e-3, batch 64, one SpecAugment time mask of up to
10 % of the frames, the last epoch kept. It uses no Lightning and no kwsauto training code (kwsauto only computes
the features and builds the network, so that the comparison is about training alone).

Arms, each over ``--seeds`` seeds on each proxy task (float test accuracy, speakers never seen):

* ``reference``: the plain loop above;
* ``pipeline``: ``kwsauto.training.fit`` given the same settings (AdamW, one-cycle, time mask ``low``);
* ``pipeline-before``: the DS-CNN row of ``search_efficiency.py`` (Adam 0.001 constant, 36 epochs, batch 100,
  early stopping patience 6) with the pipeline's defaults otherwise; run it with ``PYTHONPATH`` at a checkout from
  before issue 10 (d85ff75) to measure the old pipeline.

    python benchmarks/reference_recipe.py [--tasks kws12,full40] [--arms reference,pipeline] [--seeds 3] [--json F]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proxy_tasks import DEFAULT_DATA, TASKS, load_task  # noqa: E402

from kwsauto.features import FeatureConfig, FeatureSet, compute_features  # noqa: E402
from kwsauto.models import ModelSpec, create_model  # noqa: E402
from kwsauto.training import AugmentConfig, TrainConfig, TrialConfig, evaluate, fit  # noqa: E402

FEATURES = FeatureConfig(kind="mfcc", frame_length_s=0.04, frame_stride_s=0.02, n_filters=40, n_coefficients=10,
                         fft_length=512)
MODEL = ModelSpec(arch="dscnn", width=1.0, head_units=0, dropout=0.2)
EPOCHS, PEAK_LR, WEIGHT_DECAY, BATCH = 40, 3e-3, 0.01, 64
ARMS = ("reference", "pipeline", "pipeline-before")


def _time_mask(x: torch.Tensor, generator: torch.Generator, max_fraction: float = 0.1) -> torch.Tensor:
    """One SpecAugment time mask per clip, up to ``max_fraction`` of the frames, filled with the clip's mean."""
    n, _, frames, _ = x.shape
    widths = torch.randint(0, int(frames * max_fraction) + 1, (n,), generator=generator)
    starts = (torch.rand(n, generator=generator) * (frames - widths + 1)).long()
    idx = torch.arange(frames)
    mask = (idx[None] >= starts[:, None]) & (idx[None] < (starts + widths)[:, None])  # [n, frames]
    means = x.mean(dim=(1, 2, 3), keepdim=True)
    return torch.where(mask[:, None, :, None], means, x)


def reference(features: FeatureSet, seed: int, *, return_model: bool = False):
    """The plain loop: (validation, test) accuracy of the last epoch, after the model with ``return_model``."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = create_model(MODEL, len(features.labels), FEATURES.shape).to(memory_format=torch.channels_last)
    train = features["train"]
    steps_per_epoch = -(-len(train.labels) // BATCH)
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK_LR, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, PEAK_LR, total_steps=EPOCHS * steps_per_epoch)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        model.train()
        order = torch.randperm(len(train.labels), generator=generator)
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            x = _time_mask(train.features[rows], generator).contiguous(memory_format=torch.channels_last)
            loss = loss_fn(model(x), train.labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    model = model.to(memory_format=torch.contiguous_format).eval()
    accuracies = evaluate(model, features, "val").accuracy, evaluate(model, features, "test").accuracy
    return (model, *accuracies) if return_model else accuracies


def pipeline(features: FeatureSet, seed: int, arm: str) -> tuple[float, float]:
    if arm == "pipeline":
        train = TrainConfig(epochs=EPOCHS, learning_rate=PEAK_LR, batch_size=BATCH, weight_decay=WEIGHT_DECAY,
                            optimizer="adamw", lr_schedule="onecycle", warmup_fraction=0.3,
                            augment=AugmentConfig(time_mask="low"), early_stopping_patience=0, seed=seed)
    else:
        train = TrainConfig(epochs=36, learning_rate=0.001, batch_size=100, early_stopping_patience=6, seed=seed)
    result = fit(features, TrialConfig(features=FEATURES, model=MODEL, train=train), evaluate_test=True)
    return result.val_accuracy, result.test.accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--arms", default="reference,pipeline")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    console = Console()
    arms = args.arms.split(",")
    rows: list[dict] = []
    for task in args.tasks.split(","):
        features = compute_features(load_task(task, args.data), FEATURES)
        for arm in arms:
            if arm not in ARMS:
                parser.error(f"unknown arm {arm!r}; choose from {ARMS}")
            for seed in range(args.seeds):
                started = time.perf_counter()
                val, test = reference(features, seed) if arm == "reference" else pipeline(features, seed, arm)
                rows.append({"task": task, "arm": arm, "seed": seed, "val": val, "test": test,
                             "seconds": time.perf_counter() - started})
                console.log(rows[-1])
                if args.json:
                    args.json.write_text(json.dumps(rows, indent=1))
    table = Table(title=f"DS-CNN 49x10 MFCC, float test accuracy over {args.seeds} seeds (mean ± std)")
    for column in ("task", "arm", "validation %", "test %", "s / run"):
        table.add_column(column, justify="left" if column in ("task", "arm") else "right")
    for task in args.tasks.split(","):
        for arm in arms:
            mine = [r for r in rows if r["task"] == task and r["arm"] == arm]
            def fmt(key: str) -> str:
                values = [100 * r[key] for r in mine]
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                return f"{statistics.mean(values):.1f} ± {spread:.1f}"
            table.add_row(task, arm, fmt("val"), fmt("test"), f"{statistics.mean(r['seconds'] for r in mine):.0f}")
    console.print(table)


if __name__ == "__main__":
    main()
