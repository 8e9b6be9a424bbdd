"""An exported .tflite measured in TFLite Micro (its arena) and estimated on a device (RAM, flash, latency)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kwsauto.device import DEFAULT_DEVICE, Footprint, estimate_footprint, get_device
from kwsauto.evaluate._target import resolve_target
from kwsauto.export import ArenaUsage, MissingMetadataError, tflm_arena_usage
from kwsauto.export._predict import load_model_info
from kwsauto.export._tflite_reader import read_int8_graph
from kwsauto.features import FeatureConfig

__all__ = ["ModelProfile", "profile"]


@dataclass(frozen=True)
class ModelProfile:
    """``arena``: measured by the tflite-micro package (64-bit host build, reference kernels); ``estimate``: the
    device's footprint (its pointer size, CMSIS-NN scratch buffers); ``model_bytes``: the .tflite file."""

    path: Path
    arena: ArenaUsage
    estimate: Footprint
    model_bytes: int
    macs: int
    params: int


def profile(model: str | Path, device: str | None = None) -> ModelProfile:
    """Run ``model`` (.tflite) in TFLite Micro and estimate its footprint on ``device``.

    ``device`` defaults to the device of the run the model was exported from (``RUN/best``,
    ``RUN/trials/<n>/export``), else the default device. Its feature parameters come from the file's metadata,
    or its card; without either, the default MFE front end.
    """
    model = Path(model)
    target = resolve_target(model)
    device_name = device or (target.settings.device if target.settings is not None else DEFAULT_DEVICE)
    graph = read_int8_graph(model)
    features, labels = target.features, target.labels
    if features is None:
        try:
            labels, features = load_model_info(model)
        except MissingMetadataError:
            labels, features = (), FeatureConfig()
    return ModelProfile(
        path=model,
        arena=tflm_arena_usage(model),
        estimate=estimate_footprint(graph, features, get_device(device_name), labels),
        model_bytes=model.stat().st_size,
        macs=graph.macs,
        params=graph.params,
    )
