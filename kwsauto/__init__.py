"""kwsauto: keyword-spotting AutoML for microcontrollers.

``run_search`` finds the most accurate model that fits a device budget; ``train`` trains one config;
``load_run`` reads a run folder back. The ``kwsauto`` command is a thin shell over these.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "run_search", "train", "load_run", "export_run", "SearchSettings"]


def __getattr__(name: str):
    # Lazy: `import kwsauto` stays cheap; torch and Lightning load when the API is first used.
    if name in ("train", "load_run", "export_run"):
        from kwsauto import _api

        return getattr(_api, name)
    if name in ("run_search", "SearchSettings"):
        from kwsauto.search import _study

        return getattr(_study, name)
    raise AttributeError(f"module 'kwsauto' has no attribute {name!r}")
