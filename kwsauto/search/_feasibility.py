"""The footprint of a trial config, known before training: build the model, trace its int8 graph, estimate.

Cached per graph-shaping settings, so repeated architectures cost nothing and a new infeasible one costs
well under half a second.
"""

from __future__ import annotations

import functools

from kwsauto.device import Budget, DeviceProfile, Footprint, Violation, check_budget, estimate_footprint
from kwsauto.errors import BudgetError
from kwsauto.export import trace_int8_graph
from kwsauto.features import FeatureConfig
from kwsauto.models import ModelSpec, create_model
from kwsauto.training import TrialConfig
from kwsauto.units import format_bytes

__all__ = ["footprint_of", "check_trial", "ensure_space_can_fit"]


@functools.lru_cache(maxsize=512)
def _footprint(
    features: FeatureConfig, model: ModelSpec, labels: tuple[str, ...], device: DeviceProfile
) -> Footprint:
    net = create_model(model, len(labels), features.shape)
    return estimate_footprint(trace_int8_graph(net, features.shape), features, device, labels)


def footprint_of(config: TrialConfig, labels: tuple[str, ...], device: DeviceProfile) -> Footprint:
    """The footprint of ``config``'s model for ``labels`` (they size the head and the .tflite metadata)."""
    # dropout does not shape the graph: normalize it so the cache hits
    model = ModelSpec(config.model.arch, config.model.width, config.model.head_units, 0.0, depth=config.model.depth)
    return _footprint(config.features, model, tuple(labels), device)


def check_trial(
    config: TrialConfig, labels: tuple[str, ...], device: DeviceProfile, budget: Budget
) -> tuple[Footprint, list[Violation]]:
    footprint = footprint_of(config, labels, device)
    return footprint, check_budget(footprint, budget, device)


def ensure_space_can_fit(
    candidates: list[TrialConfig], labels: tuple[str, ...], device: DeviceProfile, budget: Budget
) -> None:
    """Raise :class:`BudgetError` before any training when no candidate fits.

    Candidates are tried smallest first (width, then input size) and the check stops at the first that fits, so
    a large space costs a few footprints, not hundreds; only a budget nothing meets evaluates them all.
    """
    ordered = sorted(candidates, key=lambda c: (c.model.width, c.features.n_frames * c.features.n_features))
    results = []
    for candidate in ordered:
        footprint, violations = check_trial(candidate, labels, device, budget)
        if not violations:
            return
        results.append((candidate, footprint, violations))
    config, footprint, violations = min(results, key=lambda r: max(v.excess for v in r[2]))
    m, f = config.model, config.features
    raise BudgetError(
        f"Nothing in the search space fits {device.name} with this budget: the smallest, {m.name} "
        f"(head {m.head_units}) on {f.kind} {f.n_frames}x{f.n_features}, needs RAM {format_bytes(footprint.ram_bytes)}, "
        f"flash {format_bytes(footprint.flash_bytes)}, {footprint.latency_ms:.0f} ms "
        f"({'; '.join(v.describe() for v in violations)}). Raise the budget or use a space with smaller models."
    )
