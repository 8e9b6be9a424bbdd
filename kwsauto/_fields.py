"""Checking the types of user-given settings against a config dataclass's annotations, before it is built.

A YAML ``epochs: abc`` or ``batch_size: [1, 2]`` would otherwise surface as a ``TypeError`` deep inside a
comparison; here it becomes one line naming the setting, the value and the type wanted.
"""

from __future__ import annotations

import dataclasses
import reprlib
from typing import Any

from kwsauto.errors import ConfigError

__all__ = ["check_field_types", "short_repr"]

_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "None": (type(None),),
    "tuple": (list, tuple),
    "list": (list, tuple),
}
_NAMES = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false", "None": "null",
          "tuple": "a list", "list": "a list"}
_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlevel = 60, 60, 6, 6, 3


def short_repr(value: Any) -> str:
    """``repr`` cut to a line, for echoing user values in messages (a value may be huge)."""
    return _SHORT.repr(value)


def check_field_types(cls: type, values: dict[str, Any], what: str) -> None:
    """Raise :class:`ConfigError` for a value of ``values`` whose type the field of ``cls`` does not accept."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in values.items():
        field = fields.get(key)
        annotation = field.type if field is not None and isinstance(field.type, str) else None
        if annotation is None:
            continue
        kinds = [part.strip().split("[")[0] for part in annotation.split("|")]
        if any(kind not in _TYPES for kind in kinds):
            continue  # a type this check does not know: the dataclass validates it
        accepted = tuple(t for kind in kinds for t in _TYPES[kind])
        if isinstance(value, bool) and bool not in accepted:
            ok = False
        else:
            ok = isinstance(value, accepted)
        if not ok:
            wanted = " or ".join(_NAMES[kind] for kind in kinds)
            raise ConfigError(f"{what} {key!r} must be {wanted}, but got {short_repr(value)}.")
