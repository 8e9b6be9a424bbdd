"""Small real artefacts the reliability tests corrupt: a .tflite written by kwsauto, a study journal."""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import torch

from kwsauto.export._graph import trace_int8_graph
from kwsauto.export._quantize import quantize_graph
from kwsauto.export._tflite import write_tflite
from kwsauto.export._verify import _model_object
from kwsauto.models import ModelSpec, create_model

FEATURES = {"kind": "mfe", "frame_stride_s": 0.02, "n_filters": 10}
SHAPE = (1, 50, 10)  # [channels, frames, coeffs]
LABELS = ("no", "yes")


def write_tiny_tflite(path: Path, shape: tuple[int, int, int] = SHAPE) -> Path:
    """An untrained DS-CNN 0.25 written as kwsauto exports it (a few KB, a second to make); its metadata's features
    give ``SHAPE``, so another ``shape`` makes a model whose metadata does not match its input."""
    torch.manual_seed(0)
    model = create_model(ModelSpec("dscnn", 0.25, dropout=0.0), len(LABELS), shape).eval()
    graph = trace_int8_graph(model, shape)
    qgraph = quantize_graph(model, graph, torch.rand(16, *shape))
    return write_tflite(qgraph, path, labels=LABELS, feature_params=FEATURES)


def rewrite_tflite(src: Path, dst: Path, edit) -> Path:
    """``src`` parsed, changed in place by ``edit(model)`` (a ``ModelT``), and packed again into ``dst``."""
    model = _model_object(src.read_bytes())
    edit(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dst.write_bytes(bytes(builder.Output()))
    return dst
