import time

import numpy as np
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


def _reference_features(wave: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """MFE/MFCC ``[frames, coeffs]`` written from the definitions in numpy (float64), nothing from torchaudio.

    Frames of ``fft_length`` samples (the defaults' 20 ms frame is longer and is cut to the FFT, as Edge Impulse
    does) every stride, periodic Hann window, power spectrum, HTK-mel triangles with Slaney area normalisation,
    dB clipped at the noise floor; MFCC: orthonormal DCT-II computed through an FFT (Makhoul), mean over time off.
    """
    n_fft, hop, rate = config.fft_length, config.frame_stride_samples, config.sample_rate_hz
    wave = wave[: config.window_samples].astype(np.float64)
    n_frames = 1 + (len(wave) - n_fft) // hop
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = np.stack([wave[i * hop : i * hop + n_fft] * window for i in range(n_frames)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # [frames, n_fft // 2 + 1]
    hz = np.linspace(0, rate / 2, n_fft // 2 + 1)
    mel_edges = np.linspace(2595 * np.log10(1 + config.low_hz / 700),
                            2595 * np.log10(1 + (config.high_hz or rate / 2) / 700), config.n_filters + 2)
    f = 700 * (10 ** (mel_edges / 2595) - 1)
    rise = (hz[None] - f[:-2, None]) / (f[1:-1] - f[:-2])[:, None]
    fall = (f[2:, None] - hz[None]) / (f[2:] - f[1:-1])[:, None]
    bank = np.maximum(0, np.minimum(rise, fall)) * (2 / (f[2:] - f[:-2]))[:, None]  # [filters, bins]
    floor = config.noise_floor_db
    db = np.maximum(10 * np.log10(np.maximum(power @ bank.T, 1e-30)), floor)  # [frames, filters]
    if config.kind == "mfe":
        return (db - floor) / (-floor + 12)
    n = config.n_filters
    reordered = np.concatenate([db[:, ::2], db[:, 1::2][:, ::-1]], axis=1)
    spectrum = np.fft.fft(reordered, axis=1) * np.exp(-1j * np.pi * np.arange(n) / (2 * n))
    dct = 2 * spectrum.real * np.where(np.arange(n) == 0, np.sqrt(1 / (4 * n)), np.sqrt(1 / (2 * n)))
    cep = dct[:, : config.n_coefficients]
    return (cep - cep.mean(axis=0)) / 20


@pytest.mark.parametrize(
    "config",
    [FeatureConfig(), FeatureConfig(frame_stride_s=0.02, n_filters=32, low_hz=80, high_hz=7600),
     FeatureConfig(kind="mfcc", frame_stride_s=0.02, n_filters=32, n_coefficients=13)],
    ids=["mfe", "mfe-band", "mfcc"],
)
def test_features_match_an_independent_numpy_implementation(config):
    wave = tone_clip("mid", 1, 0)
    ours = FeatureExtractor(config)(torch.from_numpy(wave)[None])[0, 0].numpy()  # [frames, coeffs]
    reference = _reference_features(wave, config)
    assert ours.shape == reference.shape == config.shape[1:]
    np.testing.assert_allclose(ours, reference, atol=2e-4)
    assert reference.std() > 0.05  # a clip with structure, not a flat spectrogram


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


def test_a_half_written_cache_is_detected_and_redone_never_read(tmp_path):
    """A file cut short (a killed process, a full disk) is recomputed and rewritten, not trusted."""
    root = write_tone_dataset(tmp_path / "d", speakers=5, reps=1)
    cache = tmp_path / "cache"
    config = FeatureConfig(frame_stride_s=0.02)
    first = compute_features(load_dataset(root), config, cache_dir=cache)
    files = [*(cache / "waves").glob("*.pt"), *(cache / "features").glob("*.pt")]
    sizes = {f: f.stat().st_size for f in files}
    assert len(files) == 2
    for f in files:  # a new file cut in half (unlinked first: the open cache maps the old one)
        data = f.read_bytes()
        f.unlink()
        f.write_bytes(data[: sizes[f] // 2])
    again = compute_features(load_dataset(root), config, cache_dir=cache)
    for split in ("train", "val", "test"):
        assert torch.equal(first[split].features, again[split].features)
        assert torch.equal(first[split].waves, again[split].waves)
    assert {f: f.stat().st_size for f in files} == sizes  # rewritten whole



def test_progress_follows_decoding_and_features_only_when_not_cached(tmp_path):
    root = write_tone_dataset(tmp_path / "d", speakers=5, reps=2)
    seen = []
    config = FeatureConfig(frame_stride_s=0.02)
    compute_features(load_dataset(root), config, cache_dir=tmp_path / "c", batch_size=8,
                     progress=lambda stage, done, total: seen.append((stage, done, total)))
    n = len(load_dataset(root).clips)
    assert seen[-1] == ("computing features", n, n) and ("decoding clips", n, n) in seen
    assert [done for stage, done, _ in seen if stage == "computing features"] == [*range(8, n, 8), n]
    seen.clear()
    compute_features(load_dataset(root), config, cache_dir=tmp_path / "c", progress=lambda *a: seen.append(a))
    assert seen == []  # both caches hit: nothing to follow
