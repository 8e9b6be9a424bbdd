"""One serializer for every frozen dataclass kwsauto writes and reads back (configs, run settings, cards).

:func:`from_dict` builds a dataclass from a JSON/YAML mapping, checked: an unknown key is a one-line error with
a "did you mean", nested dataclasses, tuples and paths are rebuilt from their field types, a missing key takes
the field's default. :func:`to_dict` is its inverse (tuples become lists, paths strings), so
``from_dict(cls, to_dict(x)) == x`` for every record.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from kwsauto._fields import check_field_types, short_repr
from kwsauto.errors import ConfigError, did_you_mean

__all__ = ["check_choice", "from_dict", "to_dict"]

T = TypeVar("T")


def check_choice(name: str, value: str, valid: tuple[str, ...], *, field: str | None = None) -> None:
    """A one-line error when ``value`` is not one of ``valid``, with the closest valid name.

    ``field``: ``name`` is that settings field (the CLI names its flag instead)."""
    if value not in valid:
        raise ConfigError(
            f"{name} must be one of {', '.join(valid)}, but got {value!r}{did_you_mean(value, valid)}.", field=field
        )


@cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_dict(cls: type[T], values: Any, what: str) -> T:
    """``cls`` from a mapping; ``what`` names the record in errors ("training setting", "card field")."""
    if isinstance(values, cls):
        return values
    if not isinstance(values, dict):
        raise ConfigError(f"{what} must be a mapping, but got {type(values).__name__} {values!r}.")
    names = {f.name for f in dataclasses.fields(cls)}
    for key in values:
        if key not in names:
            raise ConfigError(f"Unknown {what} {key!r}{did_you_mean(key, names)}; valid: {sorted(names)}.")
    check_field_types(cls, values, what)
    hints = _field_types(cls)
    converted = {}
    for key, value in values.items():
        try:
            converted[key] = _convert(hints[key], value)
        except _NotAMapping as exc:  # a hand-edited record: `"budget": "lots"` where a mapping of fields belongs
            raise ConfigError(f"{what} {key!r} must be a mapping of {exc} fields, but got {short_repr(value)}.") from None
    return cls(**converted)


class _NotAMapping(Exception):
    """A nested record's value is not a mapping; the message is the record's name."""


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _convert(options[0], value)
        return value  # bool | str and similar: the value is its own type
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        reader = getattr(hint, "from_dict", None)
        return reader(value) if reader is not None else from_dict(hint, value, f"{hint.__name__} field")
    if dataclasses.is_dataclass(hint) and not isinstance(value, hint):
        raise _NotAMapping(hint.__name__)
    if origin is tuple and isinstance(value, (list, tuple)):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v) for v in value)
        return tuple(_convert(a, v) for a, v in zip(args, value)) if args else tuple(value)
    if origin is list and isinstance(value, (list, tuple)):
        return [_convert(args[0], v) for v in value] if args else list(value)
    if origin is dict and isinstance(value, dict) and args:
        return {k: _convert(args[1], v) for k, v in value.items()}
    if hint is Path and isinstance(value, str):
        return Path(value)
    return value


def to_dict(record: Any) -> Any:
    """A dataclass (or a value inside one) as plain JSON data."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: to_dict(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, (list, tuple)):
        return [to_dict(v) for v in record]
    if isinstance(record, dict):
        return {k: to_dict(v) for k, v in record.items()}
    if isinstance(record, Path):
        return str(record)
    return record
