"""Seeding a study with known-good configurations: ``--enqueue FILE`` queues them before sampled trials.

FILE is a YAML or JSON list of parameter sets (dotted names of the search space, as in the leaderboard's
``params``), a single such mapping, a previous run's ``card.json``, or a previous run folder (its best trial).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import optuna
import yaml

from kwsauto._fields import short_repr
from kwsauto._io import check_expanded_size, load_yaml, yaml_reason
from kwsauto._serial import to_dict
from kwsauto.errors import ConfigError, did_you_mean
from kwsauto.search._records import ModelCard
from kwsauto.search._space import SearchSpace

__all__ = ["enqueue_from", "read_parameter_sets"]

_LOGGER = logging.getLogger(__name__)


def _flatten(nested: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in nested.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def read_parameter_sets(path: Path, space: SearchSpace) -> list[dict[str, Any]]:
    """The parameter sets in ``path``, restricted to ``space``'s searched parameters and checked against it."""
    path = Path(path)
    if path.is_dir():
        path = path / "best" / "card.json"
    if not path.is_file():
        raise ConfigError(f"Enqueue file {path} does not exist; give a YAML/JSON file, a card.json or a run folder.")
    try:
        text = path.read_bytes().decode("utf-8")
        raw = json.loads(text) if path.suffix == ".json" else load_yaml(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Enqueue file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None
    except (json.JSONDecodeError, yaml.YAMLError, RecursionError) as exc:
        reason = yaml_reason(exc) if str(exc) else "nested too deeply"
        raise ConfigError(f"Enqueue file {path} cannot be parsed: {reason}.") from None
    check_expanded_size(raw, path, "Enqueue file")
    if isinstance(raw, dict) and "config" in raw and "kwsauto_card" in raw:  # a card: its trial's full config
        wanted = {p.name for p in space.params}
        config = ModelCard.read(path).config
        raw = [{k: v for k, v in _flatten(to_dict(config)).items() if k in wanted}]
    elif isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ConfigError(f"Enqueue file {path} must hold a list of parameter mappings (name: value).")
    names = {p.name: p for p in space.params}
    sets = []
    for item in raw:
        params = _flatten(item)
        for name, value in params.items():
            if name not in names:
                raise ConfigError(
                    f"Enqueue file {path}: {name!r} is not a searched parameter{did_you_mean(name, names)}; "
                    f"searched: {sorted(names)}."
                )
            param = names[name]
            if param.kind == "choices" and not _is_choice(value, param.choices):
                raise ConfigError(
                    f"Enqueue file {path}: {name}={short_repr(value)} is not one of {list(param.choices)}."
                )
            if param.kind != "choices" and not _in_range(value, param):
                raise ConfigError(
                    f"Enqueue file {path}: {name}={short_repr(value)} is not a number in [{param.low}, {param.high}]."
                )
        sets.append(params)
    return sets


def _is_choice(value: Any, choices: tuple[Any, ...]) -> bool:
    try:
        return any(type(value) is type(c) and value == c for c in choices) or (
            not isinstance(value, bool) and isinstance(value, (int, float)) and value in choices
        )
    except TypeError:  # an unhashable or incomparable value is no choice
        return False


def _in_range(value: Any, param: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if param.kind == "int" and not float(value).is_integer():
        return False
    return param.low <= value <= param.high


def enqueue_from(study: optuna.Study, path: Path, space: SearchSpace) -> int:
    """Queue the parameter sets of ``path`` (each once: a resumed search does not queue them again)."""
    sets = read_parameter_sets(path, space)
    for params in sets:
        study.enqueue_trial(params, skip_if_exists=True)
    _LOGGER.info("Enqueued %d parameter set(s) from %s", len(sets), path)
    return len(sets)
