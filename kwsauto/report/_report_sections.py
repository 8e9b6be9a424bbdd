"""The report's content as plain strings, shared by the HTML and the Markdown renderers.

Each function turns part of a :class:`RunReport` into rows of text, so both formats say the same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kwsauto.report._run_report import RunReport
from kwsauto.units import format_bytes

if TYPE_CHECKING:
    from kwsauto.search import ModelCard
    from kwsauto.search._records import CardStreaming

__all__ = [
    "CLASS_HEADER",
    "LEADERBOARD_HEADER",
    "PLOT_TITLES",
    "class_rows",
    "leaderboard_cells",
    "model_items",
    "streaming_summary",
    "settings_items",
]

PLOT_TITLES = {
    "accuracy_vs_ram": "Accuracy vs RAM",
    "optimization_history": "Optimization history",
    "param_importances": "Parameter importances",
    "confusion": "Confusion matrix of the chosen model (test split)",
}
LEADERBOARD_HEADER = ("#", "state", "val acc", "test acc", "model", "RAM", "flash", "latency", "time", "note")
CLASS_HEADER = ("class", "precision", "recall", "F1", "support")


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def _bytes(value: float | None) -> str:
    return "" if value is None else format_bytes(value)


def settings_items(report: RunReport) -> list[tuple[str, str]]:
    """Study settings, budget and device, dataset and trial counts."""
    s = report.settings
    budget = s.budget
    limits = [
        f"RAM {_bytes(budget.ram_bytes)}" if budget.ram_bytes else "RAM: the device's",
        f"flash {_bytes(budget.flash_bytes)}" if budget.flash_bytes else "flash: the device's",
    ]
    if budget.latency_ms:
        limits.append(f"latency {budget.latency_ms:g} ms")
    dataset = s.dataset
    data = "built-in demo dataset (synthetic voices)" if s.demo else s.data
    labels = s.labels
    items = [
        ("study", s.study),
        ("run folder", str(report.run_dir)),
        ("device", s.device),
        ("budget", ", ".join(limits)),
        ("search space", s.space),
        ("sampler", f"{s.sampler} (seed {s.seed})"),
        ("objective", f"{s.objective} · metric {s.metric}"),
    ]
    items += [
        ("data", data),
        ("labels", f"{len(labels)}: {', '.join(labels)}" if labels else "unknown"),
        (
            "split",
            f"{s.split_source or '?'} · val {dataset.val_fraction} · test {dataset.test_fraction}",
        ),
        ("trials", ", ".join(f"{n} {state}" for state, n in sorted(report.states.items())) or "none yet"),
        ("report written", report.created),
    ]
    return items


def model_items(card: ModelCard) -> list[tuple[str, str]]:
    """The chosen model's card: accuracy, footprint against the limits, verification, features and files."""
    m, f, limits = card.metrics, card.footprint, card.limits
    int8 = m.test_accuracy_tflite if m.test_accuracy_tflite is not None else m.test_accuracy_int8
    items = [
        ("model", f"{card.model} (trial {card.trial}), {len(card.labels)} classes"),
        (
            "accuracy",
            (
                f"val {_pct(m.val_accuracy)} · test {_pct(m.test_accuracy)} float, "
                f"{_pct(int8)} int8 TFLite · macro-F1 {m.test_macro_f1:.3f}"
            ),
        ),
    ]
    if card.data.demo:
        items.append(("note", "synthetic demo voices: not a measure of real speech"))
    for key, label in (("ram_bytes", "RAM"), ("flash_bytes", "flash"), ("latency_ms", "latency")):
        value, limit = getattr(f, key), limits.get(key)
        if value is None:
            continue
        shown = f"{value:.1f} ms" if key == "latency_ms" else format_bytes(value)
        if limit:
            shown += f" of {f'{limit:.0f} ms' if key == 'latency_ms' else format_bytes(limit)} ({100 * value / limit:.0f}%)"
        items.append((label, shown))
    items.append(
        ("device", f"{f.device} · {f.macs / 1e6:.2f} M MACs · {f.params:,} params")
    )
    verification = card.verification
    if verification is not None and verification.tflm_arena_bytes:
        verified = (
            f"TFLite Micro arena {format_bytes(verification.tflm_arena_bytes)} (host build) · TFLM = LiteRT within "
            f"{verification.tflm_vs_litert_max_lsb} LSB · top-1 agreement with float "
            f"{_pct(verification.agreement_tflite_float)}"
        )
        items.append(("verified", verified))
    features = card.features
    described = (
        f"{features.kind.upper()} {'x'.join(str(d) for d in card.input_shape[1:])} · "
        f"frame {features.frame_length_s} s every {features.frame_stride_s} s · "
        f"{features.n_filters} filters · FFT {features.fft_length}"
    )
    items.append(("features", described))
    if card.data.clips:
        items.append(("clips", " · ".join(f"{split} {n}" for split, n in card.data.clips.items())))
    if card.streaming is not None:
        items.append(("streaming", streaming_summary(card.streaming)))
    items.append(("files", ", ".join(sorted(set(card.files.values()) | {"card.json"}))))
    return items


def streaming_summary(streaming: CardStreaming) -> str:
    """The calibrated detection setting and its FAR/h and FRR on the test and validation streams, in one line."""
    s, t, v = streaming.settings, streaming.test, streaming.validation
    return (
        f"average {s.average_ms} ms · threshold {s.threshold:g} · suppression {s.suppression_ms} ms "
        f"(hop {s.hop_ms} ms), chosen for <= {streaming.target_far_per_hour:g} FA/h · "
        f"test stream ({t.hours:.2f} h, {t.keywords} keywords): {t.far_per_hour:.2f} FA/h, FRR {_pct(t.frr)}, "
        f"wrong keyword {_pct(t.wrong_keyword_rate)} · validation ({v.hours:.2f} h): {v.far_per_hour:.2f} FA/h, "
        f"FRR {_pct(v.frr)}"
    )


def leaderboard_cells(row: dict[str, Any]) -> list[str]:
    """One leaderboard row as the cells of :data:`LEADERBOARD_HEADER`."""
    note = "; ".join(row.get("violations") or []) or (row.get("error") or "")
    if row.get("state") == "pruned" and row.get("epochs_run") is not None:
        note = f"pruned after epoch {row['epochs_run']}"
    return [
        str(row["number"]),
        str(row.get("state", "")),
        _pct(row.get("val_accuracy")),
        _pct(row.get("test_accuracy")),
        str(row.get("model") or ""),
        _bytes(row.get("ram_bytes")),
        _bytes(row.get("flash_bytes")),
        "" if row.get("latency_ms") is None else f"{row['latency_ms']:.0f} ms",
        "" if row.get("seconds") is None else f"{row['seconds']:.0f}s",
        note[:120],
    ]


def class_rows(card: ModelCard) -> list[list[str]]:
    """Per-class precision, recall, F1 and support of the chosen model on the test split (float)."""
    per_class = card.metrics.test_per_class
    return [
        [label, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"])]
        for label, m in per_class.items()
    ]
