"""kwsauto: keyword-spotting AutoML for microcontrollers.

``run_search`` finds the most accurate model that fits a device budget; ``train`` trains one config;
``load_run`` opens a run folder (a :class:`Run`; ``.leaderboard()`` its trials); ``export_run`` exports one of its
trials; ``predict`` runs an exported model on audio files; ``stream`` finds keywords in long recordings and
``calibrate`` tunes its detection setting for a false-activation target; ``firmware`` writes its C sources;
``write_run_report`` writes a run's HTML/Markdown report. ``profile``, ``benchmark``, ``summarize`` and
``backbone_footprints`` measure a model; ``list_devices`` lists the device profiles (``kwsauto.pretrain.pretrain`` makes backbones). The ``kwsauto``
command is a thin shell over these; they are quiet unless asked (``verbose=True``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # the names below load torch and Lightning: imported when first used
    from kwsauto._api import export_run, firmware, load_run, predict, run_search, train
    from kwsauto._streaming_api import calibrate, stream
    from kwsauto.device import list_devices
    from kwsauto.evaluate import backbone_footprints, benchmark, profile, summarize
    from kwsauto.report import write_run_report
    from kwsauto.search import ModelCard, Run, RunSettings, SearchSettings, TrialRecord

_LAZY = {
    "run_search": "kwsauto._api",
    "train": "kwsauto._api",
    "load_run": "kwsauto._api",
    "export_run": "kwsauto._api",
    "predict": "kwsauto._api",
    "firmware": "kwsauto._api",
    "list_devices": "kwsauto.device",
    "write_run_report": "kwsauto.report",
    "stream": "kwsauto._streaming_api",
    "calibrate": "kwsauto._streaming_api",
    "profile": "kwsauto.evaluate",
    "benchmark": "kwsauto.evaluate",
    "summarize": "kwsauto.evaluate",
    "backbone_footprints": "kwsauto.evaluate",
    "SearchSettings": "kwsauto.search",
    "Run": "kwsauto.search",
    "RunSettings": "kwsauto.search",
    "ModelCard": "kwsauto.search",
    "TrialRecord": "kwsauto.search",
}

__all__ = [
    "ModelCard",
    "Run",
    "RunSettings",
    "SearchSettings",
    "TrialRecord",
    "__version__",
    "backbone_footprints",
    "benchmark",
    "calibrate",
    "export_run",
    "firmware",
    "list_devices",
    "load_run",
    "predict",
    "profile",
    "run_search",
    "stream",
    "summarize",
    "train",
    "write_run_report",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kwsauto' has no attribute {name!r}")
