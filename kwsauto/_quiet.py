"""The Python API is quiet by default: no Optuna INFO lines, Lightning tips or library warnings during a call,
unless the caller asks (``verbose=True``). The levels are restored afterwards, so a notebook keeps its own."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

__all__ = ["NOISY_LOGGERS", "quiet"]

NOISY_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "torch", "onnxruntime", "onnxscript")


@contextlib.contextmanager
def quiet(enabled: bool = True) -> Iterator[None]:
    """Within the block, only errors from the libraries kwsauto drives (and Optuna's warnings) are shown."""
    if not enabled:
        yield
        return
    import lightning.pytorch  # noqa: F401  (it sets its loggers' levels on import; ours must come after)
    import optuna

    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    verbosity = optuna.logging.get_verbosity()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        optuna.logging.set_verbosity(max(verbosity, optuna.logging.WARNING))
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
            optuna.logging.set_verbosity(verbosity)
