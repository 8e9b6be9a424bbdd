"""Benchmark a model: test accuracy per runtime, footprint on every device, measured host latency.

A run's trial is evaluated in float (PyTorch, its saved weights), in int8 ONNX Runtime and in int8 LiteRT, on
the test split of the run's own dataset (``run.json`` names the folder and the dataset options; the trial's
config the features). A trial that was never exported is exported into a temporary folder first, exactly as
``kwsauto export --trial N`` would, and the run folder is left untouched. A model file with its ``card.json``
is evaluated with the export's sibling files. What cannot be measured (no card, no dataset, untrained trial)
is skipped and named in the model's ``notes``; nothing else is guessed.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kwsauto.data import ClipIndex, DatasetOptions, load_dataset
from kwsauto.device import Budget, Footprint, check_budget, estimate_footprint, get_device, list_devices
from kwsauto.errors import KwsautoError
from kwsauto.export import Int8Graph, quantize_features, run_litert, trace_int8_graph
from kwsauto.features import FeatureSet, compute_features
from kwsauto.models import create_model
from kwsauto.report._latency import LatencyStat, features_latency, litert_latency, onnxruntime_latency
from kwsauto.report._target import ModelTarget, dataset_options, resolve_targets
from kwsauto.training import ClassMetrics, classification_metrics, predict

__all__ = ["VARIANTS", "VariantAccuracy", "DeviceFit", "ModelBenchmark", "BenchmarkReport", "benchmark", "device_fits"]

_LOGGER = logging.getLogger(__name__)
# variant → how it runs; the order is the order of the accuracy table, the last one present is "deployed"
VARIANTS: dict[str, str] = {
    "float": "float · PyTorch",
    "float_onnx": "float · ONNX Runtime",
    "int8_onnx": "int8 · ONNX Runtime",
    "int8_tflite": "int8 · LiteRT (reference kernels, as TFLM)",
}


@dataclass(frozen=True)
class VariantAccuracy:
    """One variant's metrics on the test split."""

    variant: str
    metrics: ClassMetrics

    @property
    def runtime(self) -> str:
        return VARIANTS[self.variant]

    @property
    def worst_class(self) -> tuple[str, float]:
        """The class with the lowest F1 among those in the test split, and that F1."""
        present = [(f1, label) for label, f1, n in zip(self.metrics.labels, self.metrics.f1, self.metrics.support) if n]
        f1, label = min(present, default=(0.0, ""))
        return label, f1

    def to_dict(self) -> dict[str, Any]:
        label, f1 = self.worst_class
        return {"variant": self.variant, "runtime": self.runtime, **self.metrics.to_dict(), "worst_class": label, "worst_f1": f1}


@dataclass(frozen=True)
class DeviceFit:
    """A footprint on one device against the limits in force there."""

    footprint: Footprint
    limits: dict[str, float]
    violations: tuple[str, ...]

    @property
    def fits(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {**self.footprint.to_dict(), "limits": self.limits, "fits": self.fits, "violations": list(self.violations)}


@dataclass(frozen=True)
class ModelBenchmark:
    """Everything measured for one model; ``notes`` name what could not be measured, and why."""

    name: str
    trial: int | None
    labels: tuple[str, ...]
    test_clips: int
    accuracy: tuple[VariantAccuracy, ...]
    devices: tuple[DeviceFit, ...]
    latency: tuple[LatencyStat, ...]
    notes: tuple[str, ...]

    @property
    def deployed(self) -> VariantAccuracy | None:
        """The variant a device runs: int8 TFLite, else int8 ONNX, else float."""
        return self.accuracy[-1] if self.accuracy else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trial": self.trial,
            "labels": list(self.labels),
            "test_clips": self.test_clips,
            "accuracy": [a.to_dict() for a in self.accuracy],
            "devices": [d.to_dict() for d in self.devices],
            "latency": [s.to_dict() for s in self.latency],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class BenchmarkReport:
    """The benchmark of one target (or the top trials of a run), as written to ``--json``."""

    target: str
    budget: Budget
    models: tuple[ModelBenchmark, ...]
    host: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kwsauto_benchmark": 1,
            "target": self.target,
            "budget": self.budget.to_dict(),
            "host": self.host,
            "models": [m.to_dict() for m in self.models],
        }


def benchmark(
    target: str | Path,
    *,
    trial: int | None = None,
    top: int | None = None,
    budget: Budget | None = None,
    data: str | Path | None = None,
    repeats: int = 100,
    warmup: int = 10,
    cache_dir: Path | None = None,
) -> BenchmarkReport:
    """Benchmark ``target`` (a run, a trial, a model file) or, with ``top``, the run's ``top`` best trials.

    ``budget`` defaults to the run's (or the card's); ``data`` replaces the dataset folder the run names, for
    a model whose run has moved. Latency takes ``warmup`` untimed and ``repeats`` timed calls per stage.
    """
    targets = resolve_targets(target, trial, top)
    budget = budget or _budget_of(targets[0])
    loaded: dict[tuple, tuple[ClipIndex, FeatureSet] | str] = {}
    models = tuple(_benchmark_one(t, budget, data, repeats, warmup, cache_dir, loaded) for t in targets)
    return BenchmarkReport(str(target), budget, models, _host_info())


def device_fits(graph: Int8Graph, target: ModelTarget, budget: Budget) -> tuple[DeviceFit, ...]:
    """The footprint of ``graph`` on every registered device, checked against ``budget`` there."""
    features = target.features or _default_features()
    fits = []
    for device in list_devices():
        footprint = estimate_footprint(graph, features, device, target.labels)
        violations = tuple(v.describe() for v in check_budget(footprint, budget, device))
        fits.append(DeviceFit(footprint, budget.limits(device), violations))
    return tuple(fits)


def _default_features():
    from kwsauto.features import FeatureConfig

    return FeatureConfig()


def _budget_of(target: ModelTarget) -> Budget:
    recorded = (target.settings or {}).get("budget") or (target.card or {}).get("budget")
    return Budget(**recorded) if recorded else Budget()


def _benchmark_one(
    target: ModelTarget, budget: Budget, data: str | Path | None, repeats: int, warmup: int, cache_dir: Path | None,
    loaded: dict[tuple, tuple[ClipIndex, FeatureSet] | str],
) -> ModelBenchmark:
    notes = list(target.notes)
    runnable = bool(target.files) or (target.is_trial and target.trained)
    dataset: tuple[ClipIndex, FeatureSet] | str | None = None
    if runnable:
        dataset = _test_data(target, data, cache_dir, loaded) if target.labels and target.features else "the model has no labels or feature config"
    if isinstance(dataset, str):
        notes.append(f"no test accuracy: {dataset}")
        dataset = None
    with contextlib.ExitStack() as stack:
        files = dict(target.files)
        if target.is_trial and target.trained and not files and dataset is not None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kwsauto-bench-")))
            files = _export_to(target, *dataset, folder, notes)
        elif target.is_trial and target.trained and not files:
            notes.append("no int8 export and no dataset to calibrate one: `kwsauto export` the trial first")
        accuracy = _accuracy(target, files, dataset[1] if dataset else None, notes) if dataset else ()
        graph = _graph(target, files, notes)
        devices = device_fits(graph, target, budget) if graph is not None else ()
        latency = _latency(target, files, dataset[1] if dataset else None, repeats, warmup, notes)
    test_clips = len(dataset[1]["test"].labels) if dataset and accuracy else 0
    return ModelBenchmark(target.name, target.trial, target.labels, test_clips, accuracy, devices, latency, tuple(notes))


def _test_data(
    target: ModelTarget, data: str | Path | None, cache_dir: Path | None, loaded: dict
) -> tuple[ClipIndex, FeatureSet] | str:
    """The dataset index and features of ``target``'s test split, or why there are none."""
    settings, card = target.settings, target.card
    root = data or (settings or {}).get("data") or ((card or {}).get("data") or {}).get("root")
    if root is None:
        return "no dataset known (no run.json or card.json); pass the dataset folder with --data"
    options = dataset_options(settings) if settings else DatasetOptions()
    key = (str(root), options, target.features)
    if key not in loaded:
        try:
            index = load_dataset(root, options)
            loaded[key] = (index, compute_features(index, target.features, cache_dir=cache_dir))
        except KwsautoError as exc:
            loaded[key] = f"the dataset cannot be read ({exc})"
    found = loaded[key]
    if isinstance(found, tuple) and tuple(found[1].labels) != tuple(target.labels):
        return f"the dataset's labels {list(found[1].labels)} are not the model's {list(target.labels)}"
    if isinstance(found, tuple) and not len(found[1]["test"].labels):
        return f"the test split of {root} is empty"
    return found


def _export_to(target: ModelTarget, index: ClipIndex, features: FeatureSet, folder: Path, notes: list[str]) -> dict[str, Path]:
    """Export the trial's int8 models into ``folder`` (a temporary one), as ``kwsauto export`` does."""
    from kwsauto.report._target import MODEL_FILES
    from kwsauto.search._export import export_trial

    settings = target.settings or {}
    try:
        export_trial(
            target.frozen, features, index, target.run, get_device(settings["device"]), Budget(**settings["budget"]),
            settings, formats=("tflite", "onnx"), out=folder,
        )
    except KwsautoError as exc:
        notes.append(f"int8 export failed: {exc}")
        return {}
    notes.append(f"{target.name} had no export: int8 models quantized into a temporary folder for this benchmark")
    return {k: folder / name for k, name in MODEL_FILES.items() if (folder / name).is_file()}


def _float_model(target: ModelTarget, *, weights: bool = True) -> torch.nn.Module:
    """The trial's network, with its trained weights when ``weights`` (the graph needs only its shapes)."""
    config = target.config
    if config is None or target.run is None or target.trial is None:
        raise KwsautoError(f"{target.name} is not a trial of a run; its float model is not available.")
    model = create_model(config.model, len(target.labels), config.features.shape)
    if weights and target.trained:
        model.load_state_dict(target.run.load_trial_state(target.trial, target.frozen))
    return model.eval()


def _accuracy(target: ModelTarget, files: dict[str, Path], features: FeatureSet, notes: list[str]) -> tuple[VariantAccuracy, ...]:
    from kwsauto.export._onnx import onnx_predict

    test = features["test"]
    x, y = test.features, test.labels  # [n, 1, frames, coeffs], [n]
    out = []
    for variant in VARIANTS:
        try:
            if variant == "float":
                if not (target.is_trial and target.trained):
                    continue
                top1 = predict(_float_model(target), x)
            elif variant not in files:
                continue
            elif variant == "int8_tflite":
                path = files[variant]
                top1 = torch.from_numpy(run_litert(path, quantize_features(path, x)).argmax(1))
            else:
                top1 = torch.from_numpy(onnx_predict(files[variant], x).argmax(1))
        except KwsautoError as exc:
            notes.append(f"{VARIANTS[variant]} not evaluated: {exc}")
            continue
        out.append(VariantAccuracy(variant, classification_metrics(y, top1.long(), tuple(target.labels))))
    return tuple(out)


def _graph(target: ModelTarget, files: dict[str, Path], notes: list[str]) -> Int8Graph | None:
    """The int8 graph: traced from the trial's config (shapes only), or read from the .tflite."""
    if target.config is not None and target.labels:
        return trace_int8_graph(_float_model(target, weights=False), target.config.features.shape)
    if "int8_tflite" in files:
        from kwsauto.export._tflite_reader import read_int8_graph

        try:
            return read_int8_graph(files["int8_tflite"])
        except KwsautoError as exc:
            notes.append(f"no footprint: {exc}")
            return None
    notes.append("no footprint: it is computed from the int8 .tflite graph, and there is none")
    return None


def _latency(
    target: ModelTarget, files: dict[str, Path], features: FeatureSet | None, repeats: int, warmup: int, notes: list[str]
) -> tuple[LatencyStat, ...]:
    wave = features["test"].waves[0] if features is not None else None  # [samples], a real clip when there is one
    stats = []
    feats = None
    if target.features is not None:
        stats.append(features_latency(target.features, wave, repeats=repeats, warmup=warmup))
        if wave is not None:
            from kwsauto.features import FeatureExtractor

            feats = FeatureExtractor(target.features)(wave[None])  # [1, 1, frames, coeffs]
    for variant in ("int8_tflite", "int8_onnx", "float_onnx"):
        if variant not in files:
            continue
        path = files[variant]
        try:
            if variant == "int8_tflite":
                x = quantize_features(path, feats)[0] if feats is not None else None
                stats.append(litert_latency(path, x, repeats=repeats, warmup=warmup))
            else:
                x = feats.numpy() if feats is not None else None
                stats.append(onnxruntime_latency(path, x, repeats=repeats, warmup=warmup, variant=variant))
        except KwsautoError as exc:
            notes.append(f"no {variant} latency: {exc}")
    if not files and target.trained:
        notes.append("no inference latency: there is no exported model to run")
    return tuple(stats)


def _host_info() -> dict[str, Any]:
    import onnxruntime

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        info["ai_edge_litert"] = version("ai-edge-litert")
    return info
