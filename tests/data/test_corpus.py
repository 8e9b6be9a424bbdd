"""The synthetic pretraining corpus: layout, speaker-disjoint split, reproducibility, no digit words."""

from __future__ import annotations

import hashlib

import pytest

from kwsauto.data import DatasetOptions, load_dataset
from kwsauto.data.corpus import DIGIT_WORDS, PRETRAIN_WORDS, CorpusSpec, ensure_word_corpus


def test_default_vocabulary_is_hundreds_of_words_without_digits():
    spec = CorpusSpec()
    assert len(spec.words) >= 300 and not set(spec.words) & DIGIT_WORDS
    assert set(spec.words) <= set(PRETRAIN_WORDS)


def _digest(root):
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(root.rglob("*.wav")))).hexdigest()


def test_corpus_layout_split_and_reproducibility(tmp_path):
    spec = CorpusSpec(words=("lamp", "river", "go"), n_voices=4, seed=3)
    root = ensure_word_corpus(spec, tmp_path / "a")
    index = load_dataset(root, DatasetOptions(val_fraction=0.25, test_fraction=0.0))
    assert index.labels == ("go", "lamp", "river")
    assert len(index.clips) == 12 and len(index.noise_files) == 5
    assert index.speakers("train").isdisjoint(index.speakers("val")) and index.speakers("val")
    again = ensure_word_corpus(spec, tmp_path / "b")
    assert _digest(root) == _digest(again)
    assert ensure_word_corpus(spec, tmp_path / "a") == root  # cached: not regenerated


@pytest.mark.parametrize("kwargs, match", [({"n_voices": 1}, "at least 2 voices"), ({"words": ("a", "a")}, "distinct"),
                                           ({"words": ("ok", "Two")}, "lower-case")])
def test_bad_specs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CorpusSpec(**kwargs)
