"""Evaluate: measure a run or a model and return dataclasses (``report/`` renders them).

What a path names (:func:`resolve_target`), test accuracy per runtime, footprint on every device and host
latency (:func:`benchmark`), a model layer by layer (:func:`summarize`), and an exported model measured in
TFLite Micro (:func:`profile`), every backbone's footprint on a device (:func:`backbone_footprints`).
"""

from kwsauto.evaluate._backbones import BackboneFootprint, backbone_footprints
from kwsauto.evaluate._benchmark import benchmark, device_fits
from kwsauto.evaluate._benchmark_results import (
    VARIANTS,
    BenchmarkReport,
    DeviceFit,
    HostInfo,
    ModelBenchmark,
    VariantAccuracy,
    write_benchmark_json,
)
from kwsauto.evaluate._latency import LatencyStat
from kwsauto.evaluate._profile import ModelProfile, profile
from kwsauto.evaluate._summary import LayerRow, ModelSummary, summarize, summarize_graph
from kwsauto.evaluate._target import MODEL_FILES, ModelTarget, resolve_target, resolve_targets

__all__ = [
    "MODEL_FILES",
    "VARIANTS",
    "BackboneFootprint",
    "BenchmarkReport",
    "DeviceFit",
    "HostInfo",
    "LatencyStat",
    "LayerRow",
    "ModelBenchmark",
    "ModelProfile",
    "ModelSummary",
    "ModelTarget",
    "VariantAccuracy",
    "backbone_footprints",
    "benchmark",
    "device_fits",
    "profile",
    "resolve_target",
    "resolve_targets",
    "summarize",
    "summarize_graph",
    "write_benchmark_json",
]
