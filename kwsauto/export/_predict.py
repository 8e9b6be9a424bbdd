"""Run an exported model on audio files with the same feature pipeline as training: top-k labels with scores."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kwsauto._io import read_json
from kwsauto.data import read_clip
from kwsauto.errors import KwsautoError
from kwsauto.features import FeatureConfig, FeatureExtractor

__all__ = ["Prediction", "load_model_info", "predict_files"]


@dataclass(frozen=True)
class Prediction:
    path: Path
    top: tuple[tuple[str, float], ...]  # (label, score) best first


def load_model_info(model: Path) -> tuple[tuple[str, ...], FeatureConfig]:
    """Labels and feature config stored in a .tflite's metadata or an .onnx's metadata_props (or its card)."""
    model = Path(model)
    if model.suffix == ".tflite":
        from kwsauto.export._tflite import read_tflite_metadata

        meta = read_tflite_metadata(model)
    elif model.suffix == ".onnx":
        meta = _onnx_metadata(model)
    else:
        raise KwsautoError(f"{model} is neither a .tflite nor an .onnx model; pass one of those.")
    if not meta:
        card = model.parent / "card.json"
        if not card.is_file():
            raise KwsautoError(f"{model} carries no labels or feature parameters and has no card.json beside it.")
        meta = read_json(card, "Model card")
    return tuple(meta["labels"]), FeatureConfig.from_dict(meta.get("features") or meta.get("feature_params"))


def _onnx_metadata(model: Path) -> dict:
    import onnx

    try:
        props = {p.key: p.value for p in onnx.load(str(model), load_external_data=False).metadata_props}
    except Exception as exc:
        raise KwsautoError(f"{model} is not a readable ONNX model: {exc}.") from None
    raw = props.get("kwsauto")
    return json.loads(raw) if raw else {}


def predict_files(model: Path, files: list[Path], top_k: int = 3) -> list[Prediction]:
    """Score each audio file with ``model`` (.tflite int8 via LiteRT, .onnx via ONNX Runtime)."""
    model = Path(model)
    labels, config = load_model_info(model)
    extractor = FeatureExtractor(config)
    waves = torch.stack([read_clip(Path(f), sample_rate_hz=config.sample_rate_hz, window_samples=config.window_samples) for f in files])
    feats = extractor(waves)  # [n, 1, frames, coeffs]
    if model.suffix == ".tflite":
        from kwsauto.export._verify import dequantize_outputs, quantize_features, run_litert

        scores = dequantize_outputs(model, run_litert(model, quantize_features(model, feats)))
    else:
        from kwsauto.export._onnx import onnx_predict

        scores = onnx_predict(model, feats)
    out = []
    for path, row in zip(files, scores):
        order = np.argsort(-row)[:top_k]
        out.append(Prediction(Path(path), tuple((labels[i], float(row[i])) for i in order)))
    return out
