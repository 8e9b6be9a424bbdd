"""The chosen model: evaluated on the test split, exported to ONNX float and int8, described by card.json."""

from __future__ import annotations

import datetime
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from optuna.trial import FrozenTrial

from kwsauto.data import ClipIndex
from kwsauto.device import Budget, DeviceProfile
from kwsauto.export._onnx import export_onnx, onnx_predict, quantize_onnx
from kwsauto.features import FeatureSet
from kwsauto.models import create_model
from kwsauto.search._run_folder import RunFolder
from kwsauto.training import TrialConfig, classification_metrics, evaluate

__all__ = ["export_best", "CALIBRATION_CLIPS"]

_LOGGER = logging.getLogger(__name__)
CALIBRATION_CLIPS = 512


def export_best(
    trial: FrozenTrial,
    features: FeatureSet,
    index: ClipIndex,
    run: RunFolder,
    device: DeviceProfile,
    budget: Budget,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Evaluate trial ``trial`` on the test split, export it, write and return its card."""
    config = TrialConfig.from_dict(trial.user_attrs["config"])
    model = create_model(config.model, len(features.labels), config.features.shape)
    model.load_state_dict(run.load_trial_state(trial.number))
    model.eval()
    val = evaluate(model, features, "val")
    test = evaluate(model, features, "test")

    out = run.best_dir
    started = time.perf_counter()
    export_onnx(model, config.features.shape, out / "model.onnx")
    train_x = features["train"].features
    rows = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))[:CALIBRATION_CLIPS]
    quantize_onnx(out / "model.onnx", train_x[rows], out / "model_int8.onnx")
    test_x, test_y = features["test"].features, features["test"].labels
    int8 = classification_metrics(test_y, torch.from_numpy(np.argmax(onnx_predict(out / "model_int8.onnx", test_x), 1)), features.labels)
    _LOGGER.info("Exported trial %d in %.1f s", trial.number, time.perf_counter() - started)

    footprint = trial.user_attrs["footprint"]
    card = {
        "kwsauto_card": 1,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "trial": trial.number,
        "model": config.model.name,
        "labels": list(features.labels),
        "features": config.features.to_dict(),
        "input_shape": list(config.features.shape),
        "config": config.to_dict(),
        "metrics": {
            "val_accuracy": val.accuracy,
            "test_accuracy": test.accuracy,
            "test_accuracy_int8": int8.accuracy,
            "test_macro_f1": test.macro_f1,
            "test_macro_f1_int8": int8.macro_f1,
            "test_per_class": test.to_dict()["per_class"],
            "test_confusion": test.to_dict()["confusion"],
        },
        "footprint": {**footprint, "device": device.name},
        "budget": budget.to_dict(),
        "limits": budget.limits(device),
        "data": {
            "root": str(index.root),
            "demo": bool(settings.get("demo")),
            "split_source": index.split_source,
            "clips": {s: len(features[s].labels) for s in ("train", "val", "test")},
            "speakers": {s: len(index.speakers(s)) for s in ("train", "val", "test")},
        },
        "files": {"onnx": "model.onnx", "onnx_int8": "model_int8.onnx"},
    }
    run.write_card(card)
    return card


