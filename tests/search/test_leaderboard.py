"""Sorting leaderboard rows: the API checks the key and names its field; costs ascend, accuracies descend."""

from __future__ import annotations

import pytest

from kwsauto.errors import ConfigError
from kwsauto.search import sort_rows

ROWS = [
    {"number": 0, "state": "infeasible", "feasible": False, "val_accuracy": None, "ram_bytes": 90_000},
    {"number": 1, "state": "complete", "feasible": True, "val_accuracy": 0.8, "ram_bytes": 40_000},
    {"number": 2, "state": "complete", "feasible": True, "val_accuracy": 0.9, "ram_bytes": 60_000},
]


def test_rows_sort_by_accuracy_down_and_cost_up():
    assert [r["number"] for r in sort_rows(ROWS)] == [2, 1, 0]
    assert [r["number"] for r in sort_rows(ROWS, "ram_bytes")] == [1, 2, 0]
    assert [r["number"] for r in sort_rows(ROWS, "ram_bytes", feasible_only=True)] == [1, 2]


def test_an_unknown_sort_key_names_the_field_and_the_choices():
    with pytest.raises(ConfigError, match=r"^sort 'ram' is not a sort key \(did you mean 'ram_bytes'\?\); valid: ") as info:
        sort_rows(ROWS, "ram")
    assert info.value.field == "sort"
