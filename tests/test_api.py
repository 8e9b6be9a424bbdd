"""Every ``kwsauto`` command is a call of the Python API that ``import kwsauto`` reaches, with type hints."""

from __future__ import annotations

import argparse
import inspect
import typing

import pytest

import kwsauto
from kwsauto.cli import build_parser

# command → the API call it is a shell over (a dotted path below ``kwsauto``); a command not listed is a call of the
# same name
API_OF_COMMAND = {
    "search": "run_search",
    "leaderboard": "load_run",  # Run.leaderboard(sort, feasible_only)
    "export": "export_run",
    "devices": "list_devices",
    "models": "backbone_footprints",
    "summary": "summarize",
    "report": "write_run_report",
    "pretrain": "pretrain.pretrain",
}


def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def _resolve(path: str):
    obj = kwsauto
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("command", _commands())
def test_each_command_is_a_typed_api_call(command):
    import kwsauto.pretrain  # noqa: F401  (a subpackage: its function shares its name)

    call = _resolve(API_OF_COMMAND.get(command, command))
    assert callable(call)
    hints = typing.get_type_hints(call)
    params = [p for p in inspect.signature(call).parameters if p not in ("self", "cls")]
    assert "return" in hints and all(p in hints for p in params), (command, sorted(set(params) - set(hints)))


def test_the_run_has_a_typed_leaderboard():
    hints = typing.get_type_hints(kwsauto.Run.leaderboard)
    assert set(hints) == {"sort", "feasible_only", "return"}
