import time

import pytest
import soundfile as sf
import torch

from kwsauto.data import load_dataset
from kwsauto.errors import ConfigError
from kwsauto.features import FeatureConfig, FeatureExtractor, compute_features
from tests.conftest import tone_clip, write_tone_dataset


def test_mfe_shape_and_range():
    config = FeatureConfig()
    waves = torch.from_numpy(tone_clip("mid", 1, 0))[None]
    feats = FeatureExtractor(config)(waves)
    assert feats.shape == (1, *config.shape) == (1, 1, 99, 40)
    assert 0.0 <= float(feats.min()) and float(feats.max()) <= 1.3
    # the tone band is louder than the rest while the tone plays
    assert feats[0, 0].max(dim=0).values.argmax() < 20


def test_mfcc_shape_and_stride():
    config = FeatureConfig(kind="mfcc", frame_stride_s=0.02, n_filters=32, n_coefficients=13)
    feats = FeatureExtractor(config)(torch.zeros(2, 16000))
    assert feats.shape == (2, 1, *config.shape[1:]) == (2, 1, 50, 13)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"kind": "mfx"}, "did you mean 'mfe'"), ({"fft_length": 300}, "power of two"),
     ({"low_hz": 9000}, "low_hz"), ({"kind": "mfcc", "n_coefficients": 50}, "n_coefficients")],
)
def test_bad_feature_config(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        FeatureConfig(**kwargs)


def test_unknown_feature_key_is_named():
    with pytest.raises(ConfigError, match="frame_strid.*did you mean 'frame_stride_s'"):
        FeatureConfig.from_dict({"frame_strid": 0.02})


def test_features_are_cached_and_recomputed_on_change(tmp_path):
    root = write_tone_dataset(tmp_path / "d", speakers=5, reps=1)
    cache = tmp_path / "cache"
    config = FeatureConfig(frame_stride_s=0.02)
    first = compute_features(load_dataset(root), config, cache_dir=cache)
    files = sorted((cache / "features").glob("*.pt"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns
    time.sleep(0.01)
    again = compute_features(load_dataset(root), config, cache_dir=cache)
    assert files[0].stat().st_mtime_ns == mtime  # a hit: nothing rewritten
    assert torch.equal(first["train"].features, again["train"].features)

    compute_features(load_dataset(root), FeatureConfig(frame_stride_s=0.02, n_filters=32), cache_dir=cache)
    assert len(list((cache / "features").glob("*.pt"))) == 2  # a changed config is a new entry

    clip = next((root / "low").iterdir())
    sf.write(clip, tone_clip("high", 0, 0), 16000)  # same name and size, other content
    compute_features(load_dataset(root), config, cache_dir=cache)
    assert len(list((cache / "features").glob("*.pt"))) == 3
    assert len(list((cache / "waves").glob("*.pt"))) == 2  # the changed file was decoded again
