"""`kwsauto devices`, `models`, `profile`, `predict`: the target devices and exported models."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.text import Text


def cmd_devices(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from kwsauto import list_devices
    from kwsauto.device import DEFAULT_DEVICE
    from kwsauto.units import format_bytes

    table = Table(title="Devices")
    for col in ("name", "clock", "RAM", "flash", "description"):
        table.add_column(col)
    for d in list_devices():
        name = d.name + (" (default)" if d.name == DEFAULT_DEVICE else "")
        table.add_row(name, f"{d.clock_hz / 1e6:.0f} MHz", format_bytes(d.ram_bytes), format_bytes(d.flash_bytes), d.description)
    console.print(table)
    return 0


def cmd_models(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from kwsauto.evaluate import backbone_footprints
    from kwsauto.pretrain import PRETRAIN_FEATURES
    from kwsauto.units import format_bytes, parse_bytes

    given = {"device": args.device, "classes": args.classes}
    rows = backbone_footprints(
        **{k: v for k, v in given.items() if v is not None},
        ram_budget_bytes=parse_bytes(args.budget, "--budget") if args.budget else None,
    )
    _, frames, coeffs = PRETRAIN_FEATURES.shape  # what the shipped backbones were trained on
    device, classes = rows[0].footprint.device, rows[0].classes
    table = Table(title=f"Models on {device} (MFE {frames}x{coeffs}, {classes} classes)")
    for col in ("model", "params", "MACs", "RAM", "flash", "latency", "fits", "pretrained"):
        table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    for row in rows:
        f = row.footprint
        pretrained = "-" if row.pretrained is None else (
            "yes" if row.pretrained_val_accuracy is None else f"yes (val {row.pretrained_val_accuracy:.2f})"
        )
        table.add_row(
            row.name, f"{f.params:,}", f"{f.macs / 1e6:.2f} M", format_bytes(f.ram_bytes), format_bytes(f.flash_bytes),
            f"{f.latency_ms:.0f} ms", "[green]yes[/]" if row.fits else "[red]no[/]", pretrained,
        )
    console.print(table)
    shipped = [row.pretrained for row in rows if row.pretrained is not None]
    if shipped:
        console.print(f"[dim]Pretrained: backbones shipped in {shipped[0].parent} (val = accuracy on "
                      "held-out voices of the pretraining corpus); recipes beside them.[/]")
    return 0


def cmd_predict(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from kwsauto._api import predict

    predictions = predict(args.model, args.files, **({"top_k": args.top} if args.top is not None else {}))
    table = Table(title=Text(f"Predictions · {args.model.name}"))
    table.add_column("file")
    for k in range(max((len(p.top) for p in predictions), default=0)):
        table.add_column(f"#{k + 1}")
    for p in predictions:
        table.add_row(Text(str(p.path)), *(Text(f"{label} {score:.2f}") for label, score in p.top))
    console.print(table)
    return 0


def cmd_profile(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from kwsauto.evaluate import profile
    from kwsauto.units import format_bytes

    p = profile(args.model, args.device)
    usage, estimate = p.arena, p.estimate
    table = Table(title=Text(f"{args.model.name} on {estimate.device}"), show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("TFLM arena, measured", f"{format_bytes(usage.used_bytes)} (head {format_bytes(usage.head_bytes)}, tail {format_bytes(usage.tail_bytes)})")
    table.add_row("TFLM arena, estimated for device", format_bytes(estimate.arena_bytes))
    table.add_row("DSP RAM", format_bytes(estimate.dsp_ram_bytes))
    table.add_row("flash: model + kernels", f"{format_bytes(p.model_bytes)} + {format_bytes(estimate.code_bytes)}")
    table.add_row("MACs / params", f"{p.macs / 1e6:.2f} M / {p.params:,}")
    table.add_row("latency (DSP + inference)", f"{estimate.latency_ms:.1f} ms ({estimate.dsp_ms:.1f} + {estimate.inference_ms:.1f})")
    console.print(table)
    console.print("[dim]Measured with the tflite-micro package (64-bit host build, reference kernels); the device "
                  "estimate uses the target's pointer size and CMSIS-NN scratch buffers.[/]")
    return 0


def cmd_firmware(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from kwsauto._api import firmware
    from kwsauto.units import format_bytes

    files = firmware(args.model, args.out, args.device)
    out = args.out or args.model.parent
    table = Table(title=f"C sources for {args.model.name} on {files.device}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("files", ", ".join(p.name for p in files.paths) + f" in {out}")
    table.add_row("tensor arena", f"{format_bytes(files.arena_bytes)} (KWS_TENSOR_ARENA_SIZE, margin included)")
    if files.frontend_ram is not None:
        table.add_row("front end RAM", f"{format_bytes(files.frontend_ram.total_bytes)} (sizeof(kws_frontend_t), compiled)")
    console.print(table)
    return 0
