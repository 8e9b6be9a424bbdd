"""``build_folder``: a cache folder appears whole or not at all; ``.npy`` caches are read only when complete."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from kwsauto.data._cache import build_folder, open_npy, read_npy_rows, save_npy


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


def test_npy_cache_is_mapped_read_by_rows_and_refused_when_cut_short_or_misshapen(tmp_path):
    path = tmp_path / "c.npy"
    array = np.arange(7 * 3 * 2, dtype=np.int16).reshape(7, 3, 2)
    save_npy(path, array)
    mapped = open_npy(path, (7, 3, 2), np.int16)
    assert torch.equal(mapped, torch.from_numpy(array))
    assert np.array_equal(read_npy_rows(path, 2, 5), array[2:5]) and np.array_equal(read_npy_rows(path, 6, 99), array[6:])
    assert open_npy(path, (7, 3, 3), np.int16) is None and open_npy(path, (7, 3, 2), np.float16) is None
    cut = tmp_path / "cut.npy"
    cut.write_bytes(path.read_bytes()[:-10])  # a writer killed before the end
    assert open_npy(cut, (7, 3, 2), np.int16) is None
    assert open_npy(tmp_path / "missing.npy", (7, 3, 2), np.int16) is None
