"""ONNX export: the float model with softmax, and its int8 twin calibrated on training clips.

The int8 model uses per-channel symmetric int8 weights and per-tensor int8 activations in QDQ form,
calibrated with onnxruntime's static quantization on training features, so it runs in ONNX Runtime and
describes the quantization a TFLite Micro deployment uses.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from kwsauto._io import atomic_write

__all__ = ["export_onnx", "quantize_onnx", "onnx_predict", "INPUT_NAME", "OUTPUT_NAME"]

_LOGGER = logging.getLogger(__name__)
INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"


def export_onnx(model: nn.Module, input_shape: tuple[int, int, int], path: Path) -> Path:
    """Write ``softmax(model(x))`` for ``x`` of ``[batch, *input_shape]`` as a single-file ONNX model."""
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

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    atomic_write(path, write)
    return path


class _Calibration:
    """onnxruntime's CalibrationDataReader over a features tensor."""

    def __init__(self, features: torch.Tensor, batch_size: int = 32) -> None:
        self._batches = iter(
            [{INPUT_NAME: features[i : i + batch_size].numpy()} for i in range(0, len(features), batch_size)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def quantize_onnx(float_path: Path, calibration: torch.Tensor, path: Path) -> Path:
    """Quantize ``float_path`` to int8 (QDQ), calibrated on ``calibration`` features ``[n, 1, frames, coeffs]``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    def write(tmp: Path) -> None:
        prepared = tmp.with_suffix(".pre.onnx")
        try:
            quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(tmp),
                _Calibration(calibration),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
                extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
            )
        finally:
            prepared.unlink(missing_ok=True)

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
