"""The generated C front end against training's Python features, on 1,200 real clips (issue 11, point 2).

Each feature config (MFE and MFCC, two frame settings each) gets a small DS-CNN trained for a few epochs on eight
of the words' Python features and written as int8 .tflite; its front end is compiled with the system C compiler and
driven through ctypes, the audio pushed in chunks of 1, 160, 512 and 16,000 samples. The int8 inputs must be
identical on >= 99.9 % of elements and never more than one step apart, and the model's top-1 on C inputs must
equal its top-1 on Python inputs on >= 99.5 % of clips.
"""

from __future__ import annotations

import csv
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from kwsauto.device import dsp_ram_bytes
from kwsauto.export import quantize_features, quantize_graph, run_litert, trace_int8_graph, write_tflite
from kwsauto.export._frontend_c import InputQuant, write_frontend
from kwsauto.export._frontend_host import CFrontend, frontend_ram
from kwsauto.features import FeatureConfig, FeatureExtractor
from kwsauto.models import ModelSpec, create_model
from tests.export._synthetic import train_small

ARABIC = Path(__file__).resolve().parents[3] / "shared" / "data" / "arabic-speech-commands"
N_CLIPS = 1200  # the official test split: 6 speakers, 40 words
CHUNKS = (1, 160, 512, 16000)
CONFIGS = {
    "mfe-10ms": FeatureConfig(kind="mfe"),
    "mfe-20ms-hop-longer-than-fft": FeatureConfig(kind="mfe", frame_stride_s=0.02),
    "mfcc-10ms": FeatureConfig(kind="mfcc"),
    "mfcc-25ms-fft512": FeatureConfig(
        kind="mfcc", frame_length_s=0.025, frame_stride_s=0.02, fft_length=512, n_filters=32, n_coefficients=10
    ),
}
LOGGER = logging.getLogger(__name__)

pytestmark = [
    pytest.mark.skipif(not (ARABIC / "test.csv").is_file(), reason=f"real speech not found at {ARABIC}"),
    pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler"),
]


@pytest.fixture(scope="module")
def clips() -> tuple[np.ndarray, np.ndarray]:
    """``[n, 16000]`` int16 PCM of the test split (1.00 s, 16 kHz clips) and their label ids."""
    with (ARABIC / "test.csv").open() as f:
        rows = list(csv.DictReader(f))[:N_CLIPS]
    classes = sorted({r["class"] for r in rows})
    pcm = np.stack([sf.read(ARABIC / r["file"], dtype="int16")[0][:16000] for r in rows])
    assert pcm.shape == (N_CLIPS, 16000)
    return pcm, np.array([classes.index(r["class"]) for r in rows])


def python_features(config: FeatureConfig, pcm: np.ndarray) -> torch.Tensor:
    """Training's features ``[n, 1, frames, coeffs]``: soundfile reads 16-bit PCM as ``pcm / 32768``."""
    return FeatureExtractor(config)(torch.from_numpy(pcm.astype(np.float32) / 32768.0))


@pytest.fixture(scope="module")
def exports(clips, tmp_path_factory):
    """Per config: the .tflite, the front end folder and the Python int8 inputs, built once."""
    pcm, labels = clips
    built = {}

    def build(name: str):
        if name in built:
            return built[name]
        config = CONFIGS[name]
        folder = tmp_path_factory.mktemp(name)
        feats = python_features(config, pcm)
        torch.manual_seed(0)
        words = labels % 5 == 0  # 8 of the 40 words: a few seconds of training tells them apart
        model = create_model(ModelSpec("dscnn", 0.25, head_units=16, dropout=0.0), 8, config.shape)
        train_small(model, feats[words], torch.from_numpy(labels[words] // 5), epochs=8)
        qgraph = quantize_graph(model, trace_int8_graph(model, config.shape), feats)
        tflite = write_tflite(qgraph, folder / "model_int8.tflite", labels=[str(i) for i in range(8)],
                              feature_params=config.to_dict())
        quant = qgraph.input_quant
        write_frontend(folder, config, InputQuant(quant.scale[0], quant.zero_point[0]))
        built[name] = (config, tflite, folder, quantize_features(tflite, feats))
        return built[name]

    return build


@pytest.mark.parametrize("name", list(CONFIGS))
def test_c_front_end_matches_training_on_real_speech(name, clips, exports):
    pcm, _ = clips
    _, tflite, folder, python_int8 = exports(name)  # python_int8: [n, frames, coeffs, 1]
    frontend = CFrontend(folder)
    sample = np.bincount(run_litert(tflite, python_int8[::10]).argmax(1), minlength=8)
    assert (sample > 0).sum() >= 3 and sample.max() < 0.95 * sample.sum(), f"a constant model proves little: {sample}"
    first = None
    for chunk in CHUNKS:
        c_int8 = frontend.clips(pcm, chunk=chunk, sample_rate_hz=16000).reshape(python_int8.shape)
        step = np.abs(c_int8.astype(int) - python_int8.astype(int))
        equal = float(np.mean(step == 0))
        # identical inputs give identical outputs: only clips with a differing element need both runs
        differ = np.flatnonzero(step.reshape(len(step), -1).any(axis=1))
        flips = int(np.sum(_top1(tflite, c_int8[differ]) != _top1(tflite, python_int8[differ])))
        top1 = 1.0 - flips / len(step)
        LOGGER.warning("%s chunk %d: elements equal %.6f (%d of %d differ), max step %d, clips with a differing "
                       "element %d, top-1 agreement %.4f (%d flips)", name, chunk, equal, int(np.sum(step != 0)),
                       step.size, step.max(), len(differ), top1, flips)
        assert equal >= 0.999, (chunk, equal)
        assert step.max() <= 1, chunk
        assert top1 >= 0.995, (chunk, top1)
        if first is None:
            first = c_int8
        np.testing.assert_array_equal(c_int8, first)  # chunking never changes a value

def _top1(tflite: Path, int8_inputs: np.ndarray) -> np.ndarray:
    return run_litert(tflite, int8_inputs).argmax(1) if len(int8_inputs) else np.zeros(0, dtype=int)


@pytest.mark.parametrize("name", ["mfe-10ms", "mfcc-25ms-fft512"])
@pytest.mark.parametrize("chunk", [1, 333])
def test_streaming_input_at_every_hop_is_the_window_ending_there(name, chunk, clips, exports):
    pcm, _ = clips
    config, _, folder, _ = exports(name)
    stream = pcm[:3].reshape(-1)[:40000]  # 2.5 s of three speakers back to back
    frontend = CFrontend(folder)
    windows = frontend.stream(stream, chunk=chunk, sample_rate_hz=16000)
    hop, fft, n_frames = config.frame_stride_samples, config.fft_length, config.n_frames
    expected_starts = []
    for pushed in range(chunk, len(stream) + chunk, chunk):
        done = (min(pushed, len(stream)) - fft) // hop + 1 if min(pushed, len(stream)) >= fft else 0
        if done >= n_frames:
            expected_starts.append((done - n_frames) * hop)
    assert len(windows) == len(expected_starts) > 0
    starts, first = np.unique(expected_starts, return_index=True)  # a window changes only when a frame completes
    for start, window in zip(expected_starts, windows):
        np.testing.assert_array_equal(window, windows[first[np.searchsorted(starts, start)]])
    windows = windows[first]
    segments = np.stack([stream[s : s + config.window_samples] for s in starts])
    quant = InputQuant(*_input_quant(folder))
    python_int8 = np.clip(
        np.round(python_features(config, segments).numpy().transpose(0, 2, 3, 1) / np.float32(quant.scale))
        + quant.zero_point, -128, 127,
    ).reshape(len(segments), -1)
    step = np.abs(windows.astype(int) - python_int8)
    assert step.max() <= 1 and np.mean(step == 0) >= 0.999


def _input_quant(folder: Path) -> tuple[float, int]:
    from kwsauto.export import tflite_io_quant

    return tflite_io_quant(folder / "model_int8.tflite")[0]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_dsp_ram_is_what_the_compiler_lays_out(name, tmp_path):
    config = CONFIGS[name]
    write_frontend(tmp_path, config, InputQuant(0.004, -128))
    ram = frontend_ram(tmp_path)
    assert ram.static_bytes == 0  # tables are const, nothing else is static
    assert ram.state_bytes == CFrontend(tmp_path).state_bytes
    assert dsp_ram_bytes(config) == ram.total_bytes  # the search's pre-training figure is the compiled one
