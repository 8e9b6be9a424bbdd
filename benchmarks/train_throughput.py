"""Training throughput: a Lightning trial against a plain PyTorch loop, same model, data and threads.

Prints samples/s of each and their ratio (target: Lightning / plain >= 0.9), measured side by side in one run,
each after a warm-up epoch, best of ``--repeats`` timed epochs. Uses real speech when ``../shared/data`` is
there, else the demo dataset.

    python benchmarks/train_throughput.py [--data ../shared/data/arabic-speech-commands] [--model mobilenetv1_025]
        [--accelerator auto|cpu|gpu] [--precision 32|16-mixed|bf16-mixed]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import lightning.pytorch as pl
import torch
from rich.console import Console
from rich.table import Table

from kwsauto.data import load_dataset
from kwsauto.features import FeatureConfig, compute_features
from kwsauto.models import ModelSpec, create_model, resolve
from kwsauto.training import (
    Hardware,
    HardwareRequest,
    KwsDataModule,
    KwsLightningModule,
    TrainConfig,
    resolve_hardware,
)

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "arabic-speech-commands"


class _EpochTimer(pl.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.times.append(time.perf_counter() - self._start)


def lightning_epochs(features, model, config, epochs: int, hardware: Hardware) -> list[float]:
    data = KwsDataModule(features, config)
    module = KwsLightningModule(model, config, data.class_weights())
    timer = _EpochTimer()
    trainer = pl.Trainer(
        **hardware.trainer_kwargs(), max_epochs=epochs, callbacks=[timer], logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0,
    )
    trainer.fit(module, datamodule=data)
    return timer.times


def plain_epochs(features, model, config, epochs: int, hardware: Hardware) -> list[float]:
    data = KwsDataModule(features, config)
    model = model.to(hardware.device)
    autocast = hardware.precision != "32"
    dtype = torch.bfloat16 if hardware.precision == "bf16-mixed" else torch.float16
    scaler = torch.amp.GradScaler(hardware.device.type, enabled=hardware.precision == "16-mixed")
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for x, y in data.train_dataloader():
            x, y = x.to(hardware.device, non_blocking=True), y.to(hardware.device, non_blocking=True)
            if config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(hardware.device.type, dtype=dtype, enabled=autocast):
                loss = loss_fn(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        if hardware.accelerator == "cuda":
            torch.cuda.synchronize(hardware.device)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA if DEFAULT_DATA.is_dir() else None)
    parser.add_argument("--model", default="mobilenetv1_025")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--accelerator", default="auto", help="auto|cpu|gpu, as on `kwsauto search`")
    parser.add_argument("--precision", default="32", help="32|16-mixed|bf16-mixed")
    args = parser.parse_args()
    hardware = resolve_hardware(HardwareRequest(args.accelerator, args.precision))
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    if args.data is None:
        from kwsauto.data.demo import ensure_demo_dataset

        args.data = ensure_demo_dataset()
    index = load_dataset(args.data)
    features = compute_features(index, FeatureConfig(frame_stride_s=0.02), device=hardware.device)
    entry = resolve(args.model)
    n = len(features["train"].labels)
    table = Table(title=f"Training throughput · {args.model} · {n} clips · batch {args.batch_size} · {args.threads} threads"
                  f" · {hardware.label} ({hardware.name}) · precision {hardware.precision}")
    for col in ("loop", "channels_last", "samples/s", "ratio vs plain"):
        table.add_column(col, justify="right")
    for channels_last in (True, False):
        config = TrainConfig(batch_size=args.batch_size, channels_last=channels_last)
        rates = {}
        for name, run in (("plain PyTorch", plain_epochs), ("Lightning", lightning_epochs)):
            torch.manual_seed(0)
            model = create_model(ModelSpec(entry.arch, entry.width), len(features.labels), features.config.shape)
            times = run(features, model, config, 1 + args.repeats, hardware)[1:]  # first epoch is warm-up
            batches = n // args.batch_size
            rates[name] = batches * args.batch_size / min(times)
        for name, rate in rates.items():
            table.add_row(name, str(channels_last), f"{rate:,.0f}", f"{rate / rates['plain PyTorch']:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
