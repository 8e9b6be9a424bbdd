"""The sliding scorer: the very inputs and scores of scoring each window alone, whatever the blocks; bad files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from kwsauto.errors import DataError
from kwsauto.export import quantize_features, run_litert
from kwsauto.features import FeatureConfig, FeatureExtractor
from kwsauto.streaming import SlidingScorer
from tests.conftest import tone_clip


@pytest.fixture(scope="module")
def scorer(tiny_run) -> SlidingScorer:
    from kwsauto.search import ModelCard

    card = ModelCard.read(tiny_run / "best" / "card.json")
    return SlidingScorer(tiny_run / "best" / "model_int8.tflite", card.labels, card.features, hop_ms=100)


def _stream() -> np.ndarray:
    silence = np.zeros(5000, np.float32)
    return np.concatenate([silence, tone_clip("low", 1, 0), silence, tone_clip("high", 2, 1), silence])


def test_windows_score_as_alone_whatever_the_blocks(scorer):
    wave = _stream()
    hop, window = 1600, scorer.features.window_samples
    windows = torch.stack([torch.from_numpy(wave[h * hop : h * hop + window])
                           for h in range((len(wave) - window) // hop + 1)])
    model = scorer.model
    alone = run_litert(model, quantize_features(model, FeatureExtractor(scorer.features)(windows)))
    whole = scorer.score_blocks([wave], audio_s=len(wave) / 16000)
    pieces = scorer.score_blocks(np.split(wave, [777, 5000, 5001, 20000]), audio_s=len(wave) / 16000)
    assert whole.scores.shape == alone.shape
    np.testing.assert_array_equal(whole.scores, alone)
    np.testing.assert_array_equal(pieces.scores, alone)
    assert whole.real_time_factor > 0


def test_mfcc_windows_are_normalized_per_window(scorer):
    from kwsauto.streaming._scorer import SlidingScorer as Scorer

    mfcc = FeatureConfig(kind="mfcc", frame_stride_s=0.02, n_filters=40, n_coefficients=13)
    wave = _stream()[:40000]
    frames = Scorer._frames(type("S", (), {"features": mfcc, "extractor": FeatureExtractor(mfcc)})(), wave)
    window = np.stack(frames[5 : 5 + mfcc.n_frames])  # the window starting 100 ms in
    expected = FeatureExtractor(mfcc)(torch.from_numpy(wave[1600 : 1600 + 16000])[None])[0, 0].numpy()
    np.testing.assert_allclose((window - window.mean(axis=0, keepdims=True)) / 20.0, expected, atol=1e-5)


def test_short_and_unreadable_recordings_are_one_line_errors(scorer, tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(8000, np.float32), 16000)
    with pytest.raises(DataError, match=r"short.wav is 0.50 s long, shorter than one 1 s window"):
        scorer.score_file(short)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not audio")
    with pytest.raises(DataError, match="Cannot read audio file .*broken.wav"):
        scorer.score_file(broken)
