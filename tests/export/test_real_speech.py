"""The int8 exports of a model trained on real speech: TFLite Micro, LiteRT, ONNX int8 and float agree.

Trains a small DS-CNN a few epochs on sixteen words of Arabic Speech Commands (official speaker split, read in
place from ../shared/data), exports it through the one quantized graph and checks the runtimes against each other.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from kwsauto.data import load_dataset
from kwsauto.export import (
    quantize_features,
    quantize_graph,
    run_litert,
    run_tflm,
    trace_int8_graph,
    write_onnx_int8,
    write_tflite,
)
from kwsauto.export._onnx import onnx_predict
from kwsauto.features import FeatureConfig, compute_features
from kwsauto.models import ModelSpec
from kwsauto.training import TrainConfig, TrialConfig, fit, predict

ARABIC = Path(__file__).resolve().parents[3] / "shared" / "data" / "arabic-speech-commands"
WORDS = ("backward", "close", "down", "enable", "five", "forward", "left", "next", "no", "open", "record", "right", "send", "stop", "undo", "yes")

pytestmark = [
    pytest.mark.slow,  # about five minutes on 2 cores
    pytest.mark.skipif(not (ARABIC / "train.csv").is_file(), reason=f"real speech not found at {ARABIC}"),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    full = load_dataset(ARABIC)  # read in place: a subset of its clips, the dataset's own speaker split
    index = dataclasses.replace(full, clips=tuple(c for c in full.clips if c.label in WORDS), labels=tuple(sorted(WORDS)))
    features_config = FeatureConfig(frame_stride_s=0.02)
    features = compute_features(index, features_config)
    config = TrialConfig(features_config, ModelSpec("dscnn", 0.5), TrainConfig(epochs=12, batch_size=32, learning_rate=0.003))
    result = fit(features, config)
    return features, result.model.eval(), tmp_path_factory.mktemp("export")


def test_int8_exports_agree_on_real_speech(trained):
    features, model, out = trained
    assert features.labels == tuple(sorted(WORDS))
    train_x = features["train"].features
    graph = trace_int8_graph(model, features.config.shape)
    qgraph = quantize_graph(model, graph, train_x)  # calibrated on the training clips, as the search export does
    meta = {"labels": list(features.labels), "feature_params": features.config.to_dict()}
    tflite = write_tflite(qgraph, out / "model_int8.tflite", **meta)
    onnx_int8 = write_onnx_int8(qgraph, out / "model_int8.onnx", **meta)

    test_x, test_y = features["test"].features, features["test"].labels.numpy()
    float_acc = float(np.mean(predict(model, test_x).numpy() == test_y))
    int8_inputs = quantize_features(tflite, test_x)
    litert = run_litert(tflite, int8_inputs)
    tflite_acc = float(np.mean(litert.argmax(1) == test_y))
    assert float_acc > 0.5, "the model should have learned sixteen words from 18 speakers"
    assert abs(tflite_acc - float_acc) <= 0.01 + 1e-9, (tflite_acc, float_acc)  # int8 within 1 point of float

    tflm = run_tflm(tflite, int8_inputs[:60])
    assert np.abs(tflm.astype(int) - litert[:60].astype(int)).max() <= 1  # TFLM and LiteRT within 1 LSB

    onnx_top1 = onnx_predict(onnx_int8, test_x).argmax(1)
    assert np.mean(onnx_top1 == litert.argmax(1)) >= 0.99  # TFLite vs ONNX int8 top-1 agreement
