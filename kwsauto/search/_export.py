"""Exporting a trial: evaluate it on the test split, write the deployable files, verify them, write its card.

One quantized graph (``export.quantize_graph``) feeds the int8 exporters. Every TFLite export is run in TFLite
Micro (its arena measured) and in LiteRT (test accuracy, agreement with ONNX int8 and with float).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from optuna.trial import FrozenTrial

from kwsauto._io import replaced_dir
from kwsauto._serial import from_dict
from kwsauto.data import ClipIndex, check_dataset
from kwsauto.device import Budget, DeviceProfile, estimate_footprint, get_device
from kwsauto.errors import ConfigError, did_you_mean
from kwsauto.export import (
    EXPORT_FORMATS,
    FirmwareFiles,
    quantize_features,
    quantize_graph,
    run_litert,
    run_tflm,
    tflm_arena_usage,
    trace_int8_graph,
    write_c_array,
    write_firmware,
    write_onnx_int8,
    write_tflite,
)
from kwsauto.export._onnx import export_onnx, onnx_predict
from kwsauto.features import FeatureSet
from kwsauto.models import create_model
from kwsauto.search._records import (
    CARD_SCHEMA,
    CardData,
    CardFootprint,
    CardFrontend,
    CardMetrics,
    CardSelection,
    CardVerification,
    ModelCard,
    RunSettings,
    TrialRecord,
)
from kwsauto.search._run_folder import RunFolder
from kwsauto.training import TrialConfig, classification_metrics, evaluate, predict

__all__ = ["EXPORT_FORMATS", "export_trial", "parse_formats", "CALIBRATION_CLIPS"]

_LOGGER = logging.getLogger(__name__)
CALIBRATION_CLIPS = 2048  # training clips the int8 activation ranges are calibrated on


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"tflite,onnx,c"`` → the formats, checked; C needs the TFLite file, so it brings it along."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    for name in names:
        if name not in EXPORT_FORMATS:
            raise ConfigError(
                f"Unknown export format {name!r}{did_you_mean(name, EXPORT_FORMATS)}; valid: {', '.join(EXPORT_FORMATS)}."
            )
    if "c" in names and "tflite" not in names:
        names.insert(0, "tflite")
    return tuple(dict.fromkeys(names))


def export_trial(
    trial: FrozenTrial,
    features: FeatureSet,
    index: ClipIndex,
    run: RunFolder,
    device: DeviceProfile,
    budget: Budget,
    settings: RunSettings,
    *,
    formats: Sequence[str] = tuple(EXPORT_FORMATS),
    out: Path | None = None,
    state: dict[str, torch.Tensor] | None = None,
    selection: CardSelection | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ModelCard:
    """Evaluate ``trial``, write ``formats`` and its card into ``out`` (default: the run's ``best/``).

    ``state``: weights to export instead of the trial's own (a refit on train+val, whose validation figure is then
    ``selection``'s estimate, not the refit model on clips it trained on). ``progress(stage, done, total)`` sees
    each step. The files are written into a temporary sibling folder that then replaces ``out`` whole: an interrupt
    or a kill leaves the previous export as it was, never a mix of two.
    """
    with replaced_dir(Path(out or run.best_dir)) as tmp:
        return _write_export(trial, features, index, run, device, budget, settings, formats, tmp, state, selection,
                             progress or (lambda stage, done, total: None))


def _write_export(
    trial: FrozenTrial,
    features: FeatureSet,
    index: ClipIndex,
    run: RunFolder,
    device: DeviceProfile,
    budget: Budget,
    settings: RunSettings,
    formats: Sequence[str],
    out: Path,
    state: dict[str, torch.Tensor] | None,
    selection: CardSelection | None,
    progress: Callable[[str, int, int], None],
) -> ModelCard:
    steps = 3 + ("onnx" in formats) + ("tflite" in formats)
    progress("exporting: test split", 0, steps)
    config = TrialConfig.from_dict(trial.user_attrs["config"])
    model = create_model(config.model, len(features.labels), config.features.shape)
    model.load_state_dict(state if state is not None else run.load_trial_state(trial.number, trial))
    model.eval()
    val, test = evaluate(model, features, "val"), evaluate(model, features, "test")
    if selection is not None and selection.refit:  # the refit trained on the validation clips
        val = dataclasses.replace(val, accuracy=selection.val_estimate)
    labels = list(features.labels)
    meta = {"labels": labels, "features": config.features.to_dict()}
    train_x = features["train"].features
    calibration = train_x[torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))[:CALIBRATION_CLIPS]]
    test_x, test_y = features["test"].features, features["test"].labels
    float_top1 = predict(model, test_x).numpy()
    metrics: dict[str, Any] = {
        "val_accuracy": val.accuracy,
        "test_accuracy": test.accuracy,
        "test_macro_f1": test.macro_f1,
        "test_per_class": test.to_dict()["per_class"],
        "test_confusion": test.to_dict()["confusion"],
    }
    verification: dict[str, Any] = {}
    firmware: FirmwareFiles | None = None
    started = time.perf_counter()
    progress("exporting: quantizing to int8", 1, steps)
    graph = trace_int8_graph(model, config.features.shape)
    qgraph = quantize_graph(model, graph, calibration)  # the one int8 model every int8 file describes
    onnx_int8_top1 = None
    done = 2
    if "onnx" in formats:
        progress("exporting: ONNX", done, steps)
        done += 1
        export_onnx(model, config.features.shape, out / "model.onnx", metadata=meta)
        write_onnx_int8(qgraph, out / "model_int8.onnx", labels=labels, feature_params=meta["features"])
        onnx_int8_top1 = onnx_predict(out / "model_int8.onnx", test_x).argmax(1)
        int8 = classification_metrics(test_y, torch.from_numpy(onnx_int8_top1), features.labels)
        metrics.update(test_accuracy_int8=int8.accuracy, test_macro_f1_int8=int8.macro_f1)
    if "tflite" in formats:
        progress("exporting: TFLite, run in TFLite Micro and LiteRT", done, steps)
        done += 1
        tflite = write_tflite(qgraph, out / "model_int8.tflite", labels=labels, feature_params=meta["features"])
        if "c" in formats:
            write_c_array(tflite, out / "model_int8.h", out / "model_int8.cc")
        verification = _verify_tflite(tflite, test_x, calibration, float_top1, onnx_int8_top1, graph, config, labels)
        firmware = write_firmware(
            tflite,
            out,
            device=device.name,
            device_arena_bytes=estimate_footprint(graph, config.features, device, labels).arena_bytes,
            host_arena_bytes=verification["tflm_min_arena_bytes"],
        )
        tflite_top1 = verification.pop("_top1")
        tflite_metrics = classification_metrics(test_y, torch.from_numpy(tflite_top1), features.labels)
        metrics["test_accuracy_tflite"] = tflite_metrics.accuracy
        metrics.setdefault("test_accuracy_int8", tflite_metrics.accuracy)
        for key in ("agreement_tflite_onnx_int8", "agreement_tflite_float"):
            if key in verification:
                metrics[key] = verification[key]
    _LOGGER.info("Exported trial %d (%s) in %.1f s", trial.number, ",".join(formats), time.perf_counter() - started)
    progress("exporting: card", done, steps)
    checks = check_dataset(index, config.features.sample_rate_hz)

    footprint = dict(trial.user_attrs["footprint"], device=device.name)
    if verification:
        footprint["tflm_arena_bytes"] = verification["tflm_arena_bytes"]
    frontend = None
    if firmware is not None:
        frontend = CardFrontend(arena_bytes_allocated=firmware.arena_bytes, dsp_ram_source="estimate (no C compiler)")
        if firmware.frontend_ram is not None:  # the DSP RAM as the compiler lays it out, not a formula
            ram = firmware.frontend_ram
            frontend = CardFrontend(
                arena_bytes_allocated=firmware.arena_bytes,
                dsp_ram_source="sizeof(kws_frontend_t) + writable static data of kws_frontend.o",
                state_bytes=ram.state_bytes, static_bytes=ram.static_bytes, compiler=ram.compiler,
            )
            footprint["ram_bytes"] = footprint["ram_bytes"] - footprint["dsp_ram_bytes"] + ram.total_bytes
            footprint["dsp_ram_bytes"] = ram.total_bytes
    card = ModelCard(
        schema=CARD_SCHEMA,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        trial=trial.number,
        model=config.model.name,
        labels=tuple(labels),
        features=config.features,
        input_shape=tuple(config.features.shape),
        config=config,
        metrics=CardMetrics(**metrics),
        footprint=from_dict(CardFootprint, footprint, "footprint field"),
        verification=CardVerification(**verification) if verification else None,
        frontend=frontend,
        budget=budget,
        limits=budget.limits(device),
        data=CardData(
            root=str(index.root),
            demo=settings.demo,
            split_source=index.split_source,
            clips={s: len(features[s].labels) for s in ("train", "val", "test")},
            speakers={s: len(index.speakers(s)) for s in ("train", "val", "test")},
            speaker_ids=dict(checks.speakers),
            lowest_rate_hz=checks.lowest_rate_hz,
            warnings=checks.warnings,
        ),
        files={f.key: f.name for name in formats for f in EXPORT_FORMATS[name]},
        hardware=TrialRecord.of(trial).hardware,  # where the trial trained: accelerator, device, precision
        selection=selection,
    )
    run.write_card(card, out / "card.json")
    progress("exported", steps, steps)
    return card


def _verify_tflite(
    tflite: Path,
    test_x: torch.Tensor,
    calibration: torch.Tensor,
    float_top1: np.ndarray,
    onnx_int8_top1: np.ndarray | None,
    graph,
    config,
    labels,
) -> dict[str, Any]:
    """The .tflite in TFLite Micro (arena, outputs) and LiteRT (test split), against float and ONNX int8.

    TFLM and LiteRT are compared on every calibration clip: the card's ``tflm_vs_litert_max_lsb`` is the worst
    difference of any output over them.
    """
    top1 = run_litert(tflite, quantize_features(tflite, test_x)).argmax(1)  # [n] from int8 outputs [n, classes]
    calibration_inputs = quantize_features(tflite, calibration)
    tflm = run_tflm(tflite, calibration_inputs).astype(int)
    max_lsb = int(np.abs(tflm - run_litert(tflite, calibration_inputs).astype(int)).max())
    arena = tflm_arena_usage(tflite)
    host_estimate = estimate_footprint(graph, config.features, get_device("host"), labels)
    result = {
        "_top1": top1,
        "tflm_arena_bytes": arena.used_bytes,
        "tflm_min_arena_bytes": arena.arena_bytes,
        "estimated_host_arena_bytes": host_estimate.arena_bytes,
        "tflm_runtime": "tflite-micro Python package (64-bit host build, reference kernels)",
        "tflm_vs_litert_max_lsb": max_lsb,
        "tflm_vs_litert_clips": len(calibration_inputs),
        "agreement_tflite_float": float(np.mean(top1 == float_top1)),
        "tflite_bytes": tflite.stat().st_size,
    }
    if onnx_int8_top1 is not None:
        result["agreement_tflite_onnx_int8"] = float(np.mean(top1 == onnx_int8_top1))
    return result
