"""`kwsauto pretrain`: make backbones for fine-tuning from the synthetic word corpus and any real datasets."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from rich.console import Console

from kwsauto.cli._options import add_hardware_options, hardware_request


def add_pretrain_parser(sub) -> None:
    p = sub.add_parser("pretrain", help="pretrain backbones on a synthetic English word corpus (plus your datasets)")
    p.add_argument("datasets", nargs="*", help="real dataset folders to add (train and validation splits only)")
    p.add_argument("--model", help="comma-separated model names, or 'mobilenets' for MobileNetV1/V2 at every width "
                   "(default)")
    p.add_argument("--out", type=Path, help="folder for <model>.safetensors + .recipe.json (default ./pretrained)")
    p.add_argument("--features", help="feature config as key=value pairs over the default (MFE, 20 ms frames every 20 ms, "
                   "40 filters), e.g. kind=mfcc,frame_stride_s=0.01")
    p.add_argument("--epochs", type=int, help="epochs per model (default 12)")
    p.add_argument("--lr", type=float, help="peak learning rate, decayed by cosine (default 0.005)")
    p.add_argument("--batch-size", type=int, help="clips per batch (default 64)")
    p.add_argument("--voices", type=int, help="synthetic voices in the corpus (default 80)")
    p.add_argument("--no-corpus", action="store_true", help="pretrain on the given datasets only")
    p.add_argument("--seed", type=int, help="seed of the corpus's voices and of training (default 0)")
    add_hardware_options(p)


def cmd_pretrain(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from kwsauto.data.corpus import CorpusSpec
    from kwsauto.models import list_models
    from kwsauto.pretrain import PretrainSettings, pretrain
    from kwsauto.units import format_bytes

    names = [n.strip() for n in (args.model if args.model is not None else "mobilenets").split(",") if n.strip()]
    if names == ["mobilenets"]:
        names = list_models("mobilenet")
    seed = {"seed": args.seed} if args.seed is not None else {}  # the rest: the settings' own defaults
    corpus = {"n_voices": args.voices} if args.voices is not None else {}
    given = {"out": args.out, "epochs": args.epochs, "learning_rate": args.lr, "batch_size": args.batch_size}
    settings = PretrainSettings(
        models=tuple(names),
        features=_features(args.features),
        corpus=None if args.no_corpus else CorpusSpec(**corpus, **seed),
        datasets=tuple(Path(d) for d in args.datasets),
        hardware=hardware_request(args),
        **seed,
        **{name: value for name, value in given.items() if value is not None},
    )
    command = shlex.join(["kwsauto", *args.argv])

    def on_start(name: str) -> None:
        console.print(f"[bold]{name}[/]: pretraining ({settings.epochs} epochs)")

    def on_epoch(epoch: int, max_epochs: int, metrics: dict[str, float]) -> None:
        console.print(f"  epoch {epoch + 1}/{max_epochs}: train acc {metrics.get('train_acc', float('nan')):.3f}, "
                      f"val acc {metrics.get('val_acc', float('nan')):.3f}", highlight=False)

    if settings.corpus is not None:
        console.print(f"Pretraining corpus: {settings.corpus.describe()} (generated on first use, a few minutes) …")
    results = pretrain(settings, command=command, on_model_start=on_start, listener=on_epoch)
    table = Table(title=f"Pretrained backbones · {settings.out}")
    for col in ("model", "val acc", "val acc (int8 weights)", "classes", "file", "minutes", ""):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in results:
        table.add_row(
            r.name, f"{r.recipe['val_accuracy']:.3f}", f"{r.recipe['val_accuracy_int8_weights']:.3f}",
            str(r.recipe["plan"]["classes"]), format_bytes(r.path.stat().st_size), f"{r.recipe['train_seconds'] / 60:.1f}",
            "[dim]kept[/]" if r.skipped else "",
        )
    console.print(table)
    return 0


def _features(text: str | None):
    """``kind=mfcc,frame_stride_s=0.01`` over the pretraining default; values read as YAML scalars."""
    import yaml

    from kwsauto.errors import ConfigError
    from kwsauto.features import FeatureConfig
    from kwsauto.pretrain import PRETRAIN_FEATURES

    if not text:
        return PRETRAIN_FEATURES
    values = PRETRAIN_FEATURES.to_dict()
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--features takes key=value pairs separated by commas, but got {item!r}.")
        values[key.strip()] = yaml.safe_load(value.strip())
    return FeatureConfig.from_dict(values)
