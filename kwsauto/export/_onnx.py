"""ONNX export of the float model (with softmax), and ONNX Runtime inference for any kwsauto ONNX model.

The int8 ONNX model is written from the shared quantized graph by ``_onnx_int8``.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from kwsauto._io import atomic_write
from kwsauto.export._metadata import METADATA_NAME, metadata_json

__all__ = ["export_onnx", "onnx_predict", "INPUT_NAME", "OUTPUT_NAME"]

_LOGGER = logging.getLogger(__name__)
INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"


def export_onnx(
    model: nn.Module, input_shape: tuple[int, int, int], path: Path, metadata: dict | None = None
) -> Path:
    """Write ``softmax(model(x))`` for ``x`` of ``[batch, *input_shape]`` as a single-file ONNX model.

    ``metadata`` (labels, feature parameters) is stored as JSON under the ``kwsauto`` metadata key.
    """
    wrapped = nn.Sequential(model, nn.Softmax(dim=1)).eval()
    dummy = torch.zeros(1, *input_shape)

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped,
                (dummy,),
                str(tmp),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        if metadata is not None:
            import onnx

            proto = onnx.load(str(tmp))
            entry = proto.metadata_props.add()
            entry.key = METADATA_NAME
            entry.value = metadata_json(metadata["labels"], metadata["features"]).decode("utf-8")
            onnx.save(proto, str(tmp))

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    atomic_write(path, write)
    return path


def onnx_predict(path: Path, features: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``[n, classes]`` from an ONNX model in ONNX Runtime."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = features.numpy().astype(np.float32)
    return np.concatenate(
        [session.run([OUTPUT_NAME], {INPUT_NAME: x[i : i + batch_size]})[0] for i in range(0, len(x), batch_size)]
    )
