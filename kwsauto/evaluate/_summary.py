"""A model layer by layer: op, output shape, params, MACs, activation bytes, and the layers at peak RAM.

The rows come from the int8 graph TFLite Micro runs (traced from a trial's config, or read from a .tflite).
The peak is the arena's high-water mark as TFLM's greedy planner lays the buffers out for the device
(:func:`kwsauto.device.estimate_footprint`, whose ``peak_ops`` are the buffers that reach the top of the
arena): a layer is marked when it runs while one of those buffers is alive, i.e. while the planned arena is
in use up to its top. Shrinking those layers' tensors is what lowers the RAM a model needs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from kwsauto.device import DEFAULT_DEVICE, Footprint, estimate_footprint, get_device
from kwsauto.errors import ConfigError
from kwsauto.evaluate._target import resolve_target
from kwsauto.export import Int8Graph, trace_int8_graph
from kwsauto.features import FeatureConfig
from kwsauto.models import create_model

__all__ = ["LayerRow", "ModelSummary", "summarize", "summarize_graph"]


@dataclass(frozen=True)
class LayerRow:
    """One op of the int8 graph. ``live_bytes``: every activation tensor alive while it runs."""

    index: int
    name: str
    op: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int
    live_bytes: int
    peak: bool

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelSummary:
    """The layers of a model and its footprint on ``footprint.device``."""

    name: str
    layers: tuple[LayerRow, ...]
    footprint: Footprint
    notes: tuple[str, ...] = ()

    @property
    def peak_layers(self) -> tuple[LayerRow, ...]:
        return tuple(row for row in self.layers if row.peak)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "layers": [r.to_dict() for r in self.layers],
            "footprint": self.footprint.to_dict(),
            "notes": list(self.notes),
        }


def summarize(
    target: str | Path, *, trial: int | None = None, device: str | None = None, storage: str | None = None
) -> ModelSummary:
    """The layers of a .tflite, a run's chosen model, or a trial (``RUN/trials/0003`` or ``trial=3``) on ``device``
    (default: the run's device, or for a model file without a run the default device)."""
    resolved = resolve_target(target, trial, storage)
    profile = get_device(device or (resolved.settings.device if resolved.settings else DEFAULT_DEVICE))
    notes = list(resolved.notes)
    if resolved.config is not None:  # a trial: the graph from its config, shapes only (untrained trials too)
        config = resolved.config
        if not resolved.labels:
            raise ConfigError(
                f"{resolved.run.path if resolved.run else target}/run.json lists no labels; the search did not start."
            )
        model = create_model(config.model, len(resolved.labels), config.features.shape)
        graph = trace_int8_graph(model, config.features.shape)
        features = config.features
    elif "int8_tflite" in resolved.files:
        from kwsauto.export._tflite_reader import read_int8_graph

        graph = read_int8_graph(resolved.files["int8_tflite"])
        features = resolved.features or FeatureConfig()
    else:
        raise ConfigError(
            f"{target} has no int8 .tflite beside it; the summary reads the graph from one. Export with `kwsauto export`."
        )
    return summarize_graph(graph, features, profile, resolved.labels, name=resolved.name, notes=tuple(notes))


def summarize_graph(
    graph: Int8Graph,
    features: FeatureConfig,
    device,
    labels=(),
    *,
    name: str = "model",
    notes: tuple[str, ...] = (),
) -> ModelSummary:
    """The layer rows of ``graph``, with the layers at the arena's peak on ``device`` marked."""
    footprint = estimate_footprint(graph, features, get_device(device), tuple(labels))
    lifetimes = graph.lifetimes()
    by_name = {t.name: t.index for t in graph.tensors}
    peak_steps: set[int] = set()
    for buffer in footprint.peak_ops:
        if buffer in by_name and by_name[buffer] in lifetimes:
            first, last = lifetimes[by_name[buffer]]
            peak_steps.update(range(first, last + 1))
        elif buffer.endswith(":scratch"):  # an op's kernel scratch, alive while that op runs
            op_name = buffer.removesuffix(":scratch")
            peak_steps.update(i for i, op in enumerate(graph.ops) if op.name == op_name)
    sizes = {t.index: t.n_bytes for t in graph.tensors}
    rows = []
    for i, op in enumerate(graph.ops):
        live = sum(sizes[t] for t, (first, last) in lifetimes.items() if first <= i <= last)
        out = graph.tensors[op.output]
        rows.append(
            LayerRow(
                i,
                op.module or op.name,
                op.kind,
                out.shape,
                op.params,
                op.macs,
                out.n_bytes,
                live,
                i in peak_steps,
            )
        )
    return ModelSummary(name, tuple(rows), footprint, notes)
