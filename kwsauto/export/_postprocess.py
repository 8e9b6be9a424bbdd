"""The detection rule's settings and its C: ``kws_postprocess.h/.c``, generated from the model's labels and output
quantization and a :class:`DetectionSettings`.

The rule, the same in C and in :mod:`kwsauto.streaming`: every hop the model's int8 scores enter a ring of the last
``average_hops`` hops (fewer while the ring fills); each class's average is ``scale * (sum / n - zero_point)``,
computed in double from the exact int32 sum; the keyword with the highest average (labels of
:data:`NON_KEYWORD_LABELS` never fire) is reported when its average is at least ``threshold`` and at least
``suppression_hops`` hops have passed since the last report. The averages are identical bit for bit in C and
numpy (an exact integer sum, one division, one subtraction, one multiplication), so are the detections.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kwsauto._io import atomic_write_text
from kwsauto.errors import ConfigError

__all__ = [
    "DEFAULT_DETECTION",
    "NON_KEYWORD_LABELS",
    "POSTPROCESS_FILES",
    "DetectionSettings",
    "fires",
    "postprocess_sources",
    "write_postprocess",
]

POSTPROCESS_FILES = ("kws_postprocess.h", "kws_postprocess.c")
# labels that stand for "no keyword": they are scored but never reported
NON_KEYWORD_LABELS = frozenset({"unknown", "_unknown_", "noise", "_noise_", "silence", "_silence_",
                                "background_noise", "_background_noise_", "background"})
_MAX_AVERAGE_HOPS = 64


@dataclass(frozen=True)
class DetectionSettings:
    """How class scores every ``hop_ms`` become detections: average over ``average_ms``, report at ``threshold``,
    then ignore ``suppression_ms``. ``average_ms`` must be a whole number of hops (the ring of the C holds hops)."""

    hop_ms: int = 100
    average_ms: int = 300
    threshold: float = 0.7
    suppression_ms: int = 1000

    def __post_init__(self) -> None:
        for name in ("hop_ms", "average_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number of milliseconds >= 1, but got {value!r}.", field=name)
        if isinstance(self.suppression_ms, bool) or not isinstance(self.suppression_ms, int) or self.suppression_ms < 0:
            raise ConfigError(
                f"suppression_ms must be a whole number of milliseconds >= 0, but got {self.suppression_ms!r}.",
                field="suppression_ms",
            )
        if not (isinstance(self.threshold, (int, float)) and math.isfinite(self.threshold) and 0 < self.threshold <= 1):
            raise ConfigError(
                f"threshold must be a score in (0, 1], but got {self.threshold!r}; e.g. 0.7.", field="threshold"
            )
        if self.average_ms % self.hop_ms:
            raise ConfigError(
                f"average_ms must be a multiple of hop_ms={self.hop_ms}, but got {self.average_ms}; "
                f"use e.g. {max(1, round(self.average_ms / self.hop_ms)) * self.hop_ms}.",
                field="average_ms",
            )
        if self.average_hops > _MAX_AVERAGE_HOPS:
            raise ConfigError(
                f"average_ms={self.average_ms} spans {self.average_hops} hops, more than the {_MAX_AVERAGE_HOPS} the "
                "C ring holds; average over a shorter time or use a longer hop.",
                field="average_ms",
            )

    @property
    def average_hops(self) -> int:
        return self.average_ms // self.hop_ms

    @property
    def suppression_hops(self) -> int:
        """Hops after a report during which nothing is reported (rounded up: never shorter than asked)."""
        return -(-self.suppression_ms // self.hop_ms)


DEFAULT_DETECTION = DetectionSettings()


def fires(labels: tuple[str, ...] | list[str]) -> tuple[bool, ...]:
    """For each label, whether it can be reported (keywords) or not (:data:`NON_KEYWORD_LABELS`)."""
    return tuple(label.lower() not in NON_KEYWORD_LABELS for label in labels)


def _double(value: float) -> str:
    return repr(float(value))


def postprocess_sources(
    labels: tuple[str, ...] | list[str], output_scale: float, output_zero_point: int, settings: DetectionSettings
) -> dict[str, str]:
    """``{"kws_postprocess.h": text, "kws_postprocess.c": text}`` for a model with ``labels`` whose int8 output is
    ``real = output_scale * (q - output_zero_point)``."""
    mask = fires(labels)
    template = resources.files("kwsauto.export") / "c"
    header = (template / "kws_postprocess.h.in").read_text(encoding="utf-8")
    rows = [
        ("KWS_PP_NUM_LABELS", len(labels), "classes the model scores"),
        ("KWS_PP_HOP_MS", settings.hop_ms, "ms between two windows (push one score vector per hop)"),
        ("KWS_PP_AVERAGE_HOPS", settings.average_hops, f"hops averaged: {settings.average_ms} ms"),
        ("KWS_PP_THRESHOLD", _double(settings.threshold), "a keyword is reported when its average reaches this"),
        ("KWS_PP_SUPPRESSION_HOPS", settings.suppression_hops,
         f"hops ignored after a report: {settings.suppression_ms} ms"),
        ("KWS_PP_OUTPUT_SCALE", _double(output_scale), "model output: real = scale * (q - zero point)"),
        ("KWS_PP_OUTPUT_ZERO_POINT", f"({int(output_zero_point)})", ""),
    ]
    macros = "\n".join(
        f"#ifndef {name}\n#define {name} {value}" + (f" /* {note} */" if note else "") + "\n#endif"
        for name, value, note in rows
    )
    fire_table = ", ".join(str(int(m)) for m in mask)
    header = header.replace("@@MACROS@@", macros).replace("@@FIRES@@", fire_table)
    header = header.replace("@@SETTINGS@@", (
        f"hop {settings.hop_ms} ms, average {settings.average_ms} ms, threshold {settings.threshold}, "
        f"suppression {settings.suppression_ms} ms"
    ))
    source = (template / "kws_postprocess.c.in").read_text(encoding="utf-8")
    return {"kws_postprocess.h": header, "kws_postprocess.c": source}


def write_postprocess(
    folder: Path, labels: tuple[str, ...] | list[str], output_scale: float, output_zero_point: int,
    settings: DetectionSettings = DEFAULT_DETECTION,
) -> tuple[Path, ...]:
    """Write ``kws_postprocess.h/.c`` into ``folder``; both are generated before either is written."""
    sources = postprocess_sources(labels, output_scale, output_zero_point, settings)
    paths = tuple(Path(folder) / name for name in sources)
    for path, text in zip(paths, sources.values()):
        atomic_write_text(path, text)
    return paths
