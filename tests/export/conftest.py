"""The three small trained models the export tests share: trained, quantized and written once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from kwsauto.export._graph import Int8Graph, trace_int8_graph
from kwsauto.export._onnx_int8 import write_onnx_int8
from kwsauto.export._quantize import QuantizedGraph, quantize_graph
from kwsauto.export._tflite import write_tflite
from kwsauto.models import create_model
from tests.export._synthetic import FEATURES, INPUT_SHAPE, LABELS, SPECS, synthetic_spectrograms, train_small


@dataclass(frozen=True)
class TrainedExport:
    arch: str
    model: nn.Module  # the float model, in eval mode
    graph: Int8Graph
    qgraph: QuantizedGraph
    tflite: Path
    onnx: Path
    x_test: torch.Tensor  # [300, 1, frames, coeffs]
    y_test: np.ndarray  # [300]
    float_probs: np.ndarray  # [300, classes]


@pytest.fixture(scope="session", params=sorted(SPECS))
def trained_export(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> TrainedExport:
    arch = request.param
    # The weights depend on the float kernels, and so on the thread count: pin it here, whatever ran before.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x_train, y_train = synthetic_spectrograms(256, seed=0)
    x_test, y_test = synthetic_spectrograms(300, seed=1)
    model = create_model(SPECS[arch], len(LABELS), INPUT_SHAPE)
    train_small(model, x_train, y_train, epochs=20)
    with torch.no_grad():
        float_probs = torch.softmax(model(x_test), dim=1).numpy()
    graph = trace_int8_graph(model, INPUT_SHAPE)
    qgraph = quantize_graph(model, graph, x_train)
    folder = tmp_path_factory.mktemp(f"export_{arch}")
    tflite = write_tflite(qgraph, folder / "model_int8.tflite", labels=LABELS, feature_params=FEATURES)
    onnx = write_onnx_int8(qgraph, folder / "model_int8.onnx", labels=LABELS, feature_params=FEATURES)
    return TrainedExport(arch, model, graph, qgraph, tflite, onnx, x_test, y_test.numpy(), float_probs)
