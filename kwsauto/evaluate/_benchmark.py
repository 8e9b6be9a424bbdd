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
from pathlib import Path

import torch

from kwsauto.data import ClipIndex, DatasetOptions, load_dataset
from kwsauto.device import Budget, check_budget, estimate_footprint, get_device, list_devices
from kwsauto.errors import ConfigError, KwsautoError
from kwsauto.evaluate._benchmark_results import (
    VARIANTS,
    BenchmarkReport,
    DeviceFit,
    HostInfo,
    ModelBenchmark,
    VariantAccuracy,
)
from kwsauto.evaluate._latency import LatencyStat, features_latency, litert_latency, onnxruntime_latency
from kwsauto.evaluate._target import ModelTarget, resolve_targets
from kwsauto.export import Int8Graph, quantize_features, run_litert, trace_int8_graph
from kwsauto.features import FeatureConfig, FeatureExtractor, FeatureSet, compute_features
from kwsauto.models import create_model
from kwsauto.training import classification_metrics, predict

__all__ = ["benchmark", "device_fits"]

_LOGGER = logging.getLogger(__name__)


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
    storage: str | None = None,
) -> BenchmarkReport:
    """Benchmark ``target`` (a run, a trial, a model file) or, with ``top``, the run's ``top`` best trials.

    ``budget`` defaults to the run's (or the card's); ``data`` replaces the dataset folder the run names, for
    a model whose run has moved. Latency takes ``warmup`` untimed and ``repeats`` timed calls per stage.
    ``storage`` is the study's database URL when the run's study is not in its folder.
    """
    if repeats < 1 or warmup < 0:
        raise ConfigError(
            f"repeats must be at least 1 (and `warmup` at least 0) to time latency, but got repeats={repeats}, "
            f"warmup={warmup}.",
            field="repeats",
        )
    targets = resolve_targets(target, trial, top, storage)
    budget = budget or _budget_of(targets[0])
    loaded: dict[tuple, tuple[ClipIndex, FeatureSet] | str] = {}
    models = tuple(_benchmark_one(t, budget, data, repeats, warmup, cache_dir, loaded) for t in targets)
    return BenchmarkReport(str(target), budget, models, _host_info())


def device_fits(graph: Int8Graph, target: ModelTarget, budget: Budget) -> tuple[DeviceFit, ...]:
    """The footprint of ``graph`` on every registered device, checked against ``budget`` there."""
    features = target.features or FeatureConfig()  # a .tflite without metadata: the default MFE front end
    fits = []
    for device in list_devices():
        footprint = estimate_footprint(graph, features, device, target.labels)
        violations = tuple(check_budget(footprint, budget, device))
        fits.append(DeviceFit(footprint, budget.limits(device), violations))
    return tuple(fits)


def _budget_of(target: ModelTarget) -> Budget:
    if target.settings is not None:
        return target.settings.budget
    return target.card.budget if target.card is not None else Budget()


def _benchmark_one(
    target: ModelTarget,
    budget: Budget,
    data: str | Path | None,
    repeats: int,
    warmup: int,
    cache_dir: Path | None,
    loaded: dict[tuple, tuple[ClipIndex, FeatureSet] | str],
) -> ModelBenchmark:
    _LOGGER.info("Benchmarking %s", target.name)
    notes = list(target.notes)
    runnable = bool(target.files) or (target.is_trial and target.trained)
    dataset: tuple[ClipIndex, FeatureSet] | str | None = None
    if runnable:
        dataset = (
            _test_data(target, data, cache_dir, loaded)
            if target.labels and target.features
            else "the model has no labels or feature config"
        )
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
        accuracy = _accuracy(target, files, dataset[1], notes) if dataset else ()
        graph = _graph(target, files, notes)
        devices = device_fits(graph, target, budget) if graph is not None else ()
        latency = _latency(target, files, dataset[1] if dataset else None, repeats, warmup, notes)
    test_clips = len(dataset[1]["test"].labels) if dataset and accuracy else 0
    return ModelBenchmark(
        target.name, target.trial, target.labels, test_clips, accuracy, devices, latency, tuple(notes)
    )


def _test_data(
    target: ModelTarget, data: str | Path | None, cache_dir: Path | None, loaded: dict
) -> tuple[ClipIndex, FeatureSet] | str:
    """The dataset index and features of ``target``'s test split, or why there are none."""
    settings, card = target.settings, target.card
    root = data or (settings.data if settings else None) or (card.data.root if card else None)
    if root is None:
        return "no dataset known (no run.json or card.json); pass the dataset folder with --data"
    options = settings.dataset if settings is not None else DatasetOptions()
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


def _export_to(
    target: ModelTarget, index: ClipIndex, features: FeatureSet, folder: Path, notes: list[str]
) -> dict[str, Path]:
    """Export the trial's int8 models into ``folder`` (a temporary one), as ``kwsauto export`` does."""
    from kwsauto.evaluate._target import MODEL_FILES
    from kwsauto.search._export import export_trial

    settings = target.settings
    if settings is None or target.frozen is None or target.run is None:
        notes.append("int8 export needs the trial's run folder and its run.json")
        return {}
    try:
        export_trial(
            target.frozen,
            features,
            index,
            target.run,
            get_device(settings.device),
            settings.budget,
            settings,
            formats=("tflite", "onnx"),
            out=folder,
        )
    except KwsautoError as exc:
        notes.append(f"int8 export failed: {exc}")
        return {}
    _LOGGER.info("Exported %s into %s for the benchmark", target.name, folder)
    notes.append(
        f"{target.name} had no export: int8 models quantized into a temporary folder for this benchmark"
    )
    return {k: folder / name for k, name in MODEL_FILES.items() if (folder / name).is_file()}


def _float_model(target: ModelTarget, *, weights: bool = True) -> torch.nn.Module:
    """The trial's network, with its trained weights when ``weights`` (the graph needs only its shapes)."""
    config = target.config
    if config is None or target.run is None or target.trial is None:
        raise KwsautoError(f"{target.name} is not a trial of a run; its float model is not available.")
    model = create_model(config.model, len(target.labels), config.features.shape)
    if weights and target.trained:
        model.load_state_dict(target.run.load_export_state(target.trial, target.frozen))
    return model.eval()


def _accuracy(
    target: ModelTarget, files: dict[str, Path], features: FeatureSet, notes: list[str]
) -> tuple[VariantAccuracy, ...]:
    from kwsauto.export._onnx import onnx_predict

    test = features["test"]
    x, y = test.features, test.labels  # [n, 1, frames, coeffs], [n]
    out = []
    for variant, runtime in VARIANTS.items():
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
            notes.append(f"{runtime} not evaluated: {exc}")
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
    target: ModelTarget,
    files: dict[str, Path],
    features: FeatureSet | None,
    repeats: int,
    warmup: int,
    notes: list[str],
) -> tuple[LatencyStat, ...]:
    wave = (
        features["test"].waveforms(0) if features is not None else None
    )  # [samples]: a real clip when there is one
    stats = []
    feats = None
    if target.features is not None:
        stats.append(features_latency(target.features, wave, repeats=repeats, warmup=warmup))
        if wave is not None:
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


def _host_info() -> HostInfo:
    from importlib.metadata import PackageNotFoundError, version

    import onnxruntime

    litert = None
    with contextlib.suppress(PackageNotFoundError):
        litert = version("ai-edge-litert")
    return HostInfo(
        platform=platform.platform(),
        machine=platform.machine(),
        processor=_cpu_name(),
        python=platform.python_version(),
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        onnxruntime=onnxruntime.__version__,
        ai_edge_litert=litert,
    )


def _cpu_name() -> str:
    """The CPU model from /proc/cpuinfo on Linux, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
