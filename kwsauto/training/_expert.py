"""Expert mode: a user's Python file whose hooks replace parts of the training recipe.

Like Edge Impulse's expert mode, but as documented hooks instead of an editable script. Define any of::

    def loss(class_weights):                # -> torch.nn.Module (class_weights: Tensor or None)
    def optimizer(parameters, learning_rate):  # -> torch.optim.Optimizer
    def scheduler(optimizer, epochs):       # -> LR scheduler or None (stepped once per epoch)
    def callbacks():                        # -> list of lightning.pytorch.Callback
    def on_model(model):                    # called once with the built model, e.g. print(model)

Anything not defined keeps kwsauto's default.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kwsauto.errors import ConfigError

__all__ = ["ExpertHooks", "load_expert", "HOOK_NAMES"]

HOOK_NAMES = {"loss": 1, "optimizer": 2, "scheduler": 2, "callbacks": 0, "on_model": 1}


@dataclass(frozen=True)
class ExpertHooks:
    path: Path | None = None
    loss: Callable | None = None
    optimizer: Callable | None = None
    scheduler: Callable | None = None
    callbacks: Callable | None = None
    on_model: Callable | None = None


def load_expert(path: str | Path | None) -> ExpertHooks:
    """Load the hooks from ``path``; None gives the defaults."""
    if path is None:
        return ExpertHooks()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Expert file {path} does not exist; give a Python file defining hooks such as loss().")
    spec = importlib.util.spec_from_file_location(f"kwsauto_expert_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(f"Expert file {path} failed to load: {type(exc).__name__}: {exc}.") from exc
    hooks = {}
    for name, n_args in HOOK_NAMES.items():
        fn = getattr(module, name, None)
        if fn is None:
            continue
        if not callable(fn) or len(inspect.signature(fn).parameters) != n_args:
            raise ConfigError(
                f"Expert hook {name} in {path} must be a function of {n_args} argument(s); see `kwsauto train --help`."
            )
        hooks[name] = fn
    if not hooks:
        raise ConfigError(f"Expert file {path} defines none of the hooks {sorted(HOOK_NAMES)}.")
    return ExpertHooks(path=path, **hooks)
