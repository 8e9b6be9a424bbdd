"""The metadata every exported model carries: its labels and feature parameters, as compact JSON.

Stored under the name ``kwsauto`` (a .tflite ``metadata`` entry, an ONNX ``metadata_props`` key), so
``kwsauto predict`` runs any exported model with the feature pipeline it was trained with.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kwsauto.errors import KwsautoError

__all__ = ["METADATA_NAME", "MissingMetadataError", "metadata_json"]

METADATA_NAME = "kwsauto"


class MissingMetadataError(KwsautoError):
    """A model file that parses but carries no ``kwsauto`` metadata (its card may still describe it)."""


def metadata_json(labels: Sequence[str], feature_params: dict[str, Any] | None) -> bytes:
    content = {"labels": list(labels), "features": dict(feature_params or {})}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
