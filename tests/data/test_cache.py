"""``build_folder``: a cache folder appears whole or not at all."""

from __future__ import annotations

import json

import pytest

from kwsauto.data._cache import build_folder


def _make(tmp):
    tmp.mkdir()
    (tmp / "a.txt").write_text("x")
    return {"clips": 1}


def test_folder_appears_complete_and_replaces_an_incomplete_one(tmp_path):
    final = tmp_path / "corpus"
    final.mkdir()
    (final / "left-over.txt").write_text("from a crash")  # no manifest: incomplete
    assert build_folder(final, _make) == {"clips": 1}
    assert sorted(p.name for p in final.iterdir()) == ["a.txt", "manifest.json"]
    assert json.loads((final / "manifest.json").read_text()) == {"clips": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["corpus"]  # no temporary folder left


def test_failed_generation_leaves_nothing(tmp_path):
    def broken(tmp):
        tmp.mkdir()
        raise RuntimeError("espeak died")

    with pytest.raises(RuntimeError, match="espeak died"):
        build_folder(tmp_path / "corpus", broken)
    assert list(tmp_path.iterdir()) == []
