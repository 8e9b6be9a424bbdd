"""The C files beside a model: kws_model_settings.h, the host example, and one-line errors (issue 11, 4-6).

A tiny untrained DS-CNN is enough: the files depend on the model's shapes, quantization, operators and labels.
The host example is built with the README's command and run on WAVs; its checksum must equal Python's.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from rich.console import Console

from kwsauto.cli import main
from kwsauto.errors import ConfigError, KwsautoError
from kwsauto.export import (
    quantize_features,
    quantize_graph,
    tflite_io_quant,
    tflite_op_names,
    trace_int8_graph,
    write_tflite,
)
from kwsauto.export._firmware import FIRMWARE_FILES, TFLM_RESOLVER_METHODS, read_model_io, write_firmware
from kwsauto.export._frontend_c import InputQuant, frontend_sources
from kwsauto.export._frontend_host import CFrontend
from kwsauto.features import FeatureConfig, FeatureExtractor
from kwsauto.models import ModelSpec, create_model
from tests.conftest import tone_clip

FEATURES = FeatureConfig(kind="mfcc", frame_stride_s=0.02)
LABELS = ("zoom in", 'say "hi"', "café", "back\\slash")

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")


def _model(folder: Path, features: FeatureConfig = FEATURES, feature_params: dict | None = None) -> Path:
    torch.manual_seed(0)
    model = create_model(ModelSpec("dscnn", 0.25, head_units=16, dropout=0.0), len(LABELS), features.shape).eval()
    waves = torch.from_numpy(np.stack([tone_clip(label, 1, r) for label in ("low", "mid", "high") for r in range(4)]))
    calibration = FeatureExtractor(features)(waves)
    qgraph = quantize_graph(model, trace_int8_graph(model, features.shape), calibration)
    params = features.to_dict() if feature_params is None else feature_params
    return write_tflite(qgraph, folder / "model_int8.tflite", labels=list(LABELS), feature_params=params)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("firmware")
    tflite = _model(folder)
    files = write_firmware(tflite, folder, device="cortex-m4f-80mhz", device_arena_bytes=30000, host_arena_bytes=31000)
    return folder, files


def test_every_file_is_written_and_the_arena_margin_is_explained(exported):
    folder, files = exported
    assert sorted(p.name for p in files.paths) == sorted(FIRMWARE_FILES.values())
    assert files.arena_bytes == 32560  # max(31000, 30000) + 5 % (1550), rounded up to 16 bytes
    settings = (folder / "kws_model_settings.h").read_text()
    assert "#define KWS_TENSOR_ARENA_SIZE 32560" in settings
    assert "31000 bytes" in settings and "30000 bytes" in settings and "5%" in settings
    assert files.frontend_ram is not None and files.frontend_ram.state_bytes > 0


def test_settings_header_compiles_with_the_front_end_and_holds_the_model(exported, tmp_path):
    folder, _ = exported
    probe = tmp_path / "probe.c"
    probe.write_text(
        '#include <stdio.h>\n#include "kws_frontend.h"\n#include "kws_model_settings.h"\n'
        "int main(void) { int i; for (i = 0; i < KWS_NUM_LABELS; i++) printf(\"%s\\n\", kws_labels[i]);\n"
        '  printf("%d %d %d %.9g %d %.9g %d\\n", KWS_INPUT_FRAMES, KWS_INPUT_COEFFICIENTS, KWS_FRONTEND_INPUT_SIZE,\n'
        "    (double)KWS_INPUT_SCALE, KWS_INPUT_ZERO_POINT, (double)KWS_OUTPUT_SCALE, KWS_OUTPUT_ZERO_POINT);\n"
        "  return 0; }\n"
    )
    exe = tmp_path / "probe"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", f"-I{folder}", str(probe), "-o", str(exe)], check=True)
    lines = subprocess.run([str(exe)], check=True, capture_output=True).stdout.decode("utf-8").splitlines()
    assert tuple(lines[:-1]) == LABELS
    frames, coeffs, size, in_scale, in_zero, out_scale, out_zero = lines[-1].split()
    (scale, zero), (o_scale, o_zero) = tflite_io_quant(folder / "model_int8.tflite")
    assert (int(frames), int(coeffs), int(size)) == (FEATURES.n_frames, FEATURES.n_features, FEATURES.n_frames * 13)
    assert np.float32(in_scale) == np.float32(scale) and int(in_zero) == zero
    assert np.float32(out_scale) == np.float32(o_scale) and int(out_zero) == o_zero


@pytest.mark.skipif(shutil.which("c++") is None, reason="no C++ compiler")
def test_op_resolver_registers_exactly_the_models_operators(exported, tmp_path):
    folder, _ = exported
    ops = list(dict.fromkeys(tflite_op_names(folder / "model_int8.tflite")))
    settings = (folder / "kws_model_settings.h").read_text()
    assert f"#define KWS_OP_COUNT {len(ops)}" in settings
    assert re.findall(r"resolver\.(\w+)\(\)", settings) == [TFLM_RESOLVER_METHODS[op] for op in ops]
    # a stand-in for TFLM's resolver that fails to compile past N registrations checks the C++ part
    stub = tmp_path / "tensorflow" / "lite" / "micro" / "micro_mutable_op_resolver.h"
    stub.parent.mkdir(parents=True)
    methods = "\n".join(f"  TfLiteStatus {m}() {{ return Add(); }}" for m in TFLM_RESOLVER_METHODS.values())
    stub.write_text(
        "#include <cstdio>\ntypedef enum { kTfLiteOk, kTfLiteError } TfLiteStatus;\n"
        "#define TF_LITE_ENSURE_STATUS(x) do { if ((x) != kTfLiteOk) return kTfLiteError; } while (0)\n"
        "namespace tflite { template <unsigned N> class MicroMutableOpResolver { unsigned n = 0;\n"
        "  TfLiteStatus Add() { if (n == N) return kTfLiteError; n++; return kTfLiteOk; }\n public:\n"
        f"{methods}\n  unsigned count() const {{ return n; }} }}; }}\n"
    )
    probe = tmp_path / "probe.cc"
    probe.write_text(
        '#include "kws_model_settings.h"\nint main() { KwsOpResolver r; if (kws_register_ops(r) != kTfLiteOk) return 1;\n'
        '  std::printf("%u\\n", r.count()); return 0; }\n'
    )
    exe = tmp_path / "probe"
    subprocess.run(["c++", "-Wall", "-Werror", f"-I{folder}", f"-I{tmp_path}", str(probe), "-o", str(exe)], check=True)
    assert subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.strip() == str(len(ops))


def _readme_build(folder: Path) -> Path:
    line = next(line.strip() for line in (folder / "README.md").read_text().splitlines() if line.strip().startswith("cc "))
    build = line.split(" && ")[0]
    subprocess.run(build, shell=True, cwd=folder, check=True)
    return folder / "kws_example"


def _fnv1a(values: np.ndarray) -> int:
    h = 2166136261
    for byte in values.astype(np.int8).view(np.uint8).tolist():
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


@pytest.mark.parametrize("seconds", [1.0, 0.6])
def test_host_example_prints_the_python_input_checksum(exported, tmp_path, seconds):
    folder, _ = exported
    example = _readme_build(folder)
    wave = tone_clip("mid", 2, 1, seconds=seconds)
    wav = tmp_path / "clip.wav"
    sf.write(wav, wave, 16000, subtype="PCM_16")
    out = subprocess.run([str(example), str(wav)], check=True, capture_output=True, text=True).stdout
    from kwsauto.data import read_clip

    feats = FeatureExtractor(FEATURES)(read_clip(wav, window_samples=FEATURES.window_samples)[None])
    python_int8 = quantize_features(folder / "model_int8.tflite", feats).reshape(-1)
    first = [int(v) for v in out.split("first:")[1].split()]
    assert first == python_int8[:16].tolist()
    assert f"checksum fnv1a32 0x{_fnv1a(python_int8):08x}" in out


def test_host_example_refuses_another_sample_rate_in_one_line(exported, tmp_path):
    folder, _ = exported
    example = _readme_build(folder)
    wav = tmp_path / "clip8k.wav"
    sf.write(wav, tone_clip("low", 1, 1, rate=8000), 8000, subtype="PCM_16")
    result = subprocess.run([str(example), str(wav)], capture_output=True, text=True, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "8000 Hz" in result.stderr and "16000 Hz" in result.stderr
    with pytest.raises(ConfigError, match="8000 Hz"):
        CFrontend(folder).clips(np.zeros((1, 16000), np.int16), sample_rate_hz=8000)


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv, console=Console(file=io.StringIO()))
    return code, capsys.readouterr().err


def test_cli_writes_the_files_beside_a_model(tmp_path, capsys):
    tflite = _model(tmp_path)
    code, _ = _cli(["firmware", str(tflite), "--out", str(tmp_path / "c")], capsys)
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == sorted(FIRMWARE_FILES.values())


def test_model_without_feature_parameters_writes_nothing(tmp_path, capsys):
    tflite = _model(tmp_path, feature_params={})
    with pytest.raises(KwsautoError, match="feature parameters"):
        read_model_io(tflite)
    code, err = _cli(["firmware", str(tflite), "--out", str(tmp_path / "c")], capsys)
    assert code == 2 and err.strip().count("\n") == 0 and "feature parameters" in err
    assert not (tmp_path / "c").exists()


def test_feature_config_the_c_cannot_express_writes_nothing(tmp_path, capsys):
    with pytest.raises(ConfigError, match="fft_length up to 4096"):
        frontend_sources(FeatureConfig(fft_length=8192), InputQuant(0.01, 0))
    wide = FeatureConfig(fft_length=8192, frame_length_s=0.512)  # a model whose metadata asks for it
    tflite = _model(tmp_path, features=wide)
    code, err = _cli(["firmware", str(tflite), "--out", str(tmp_path / "c")], capsys)
    assert code == 2 and err.strip().count("\n") == 0 and "fft_length=8192" in err
    assert not (tmp_path / "c").exists()


def test_metadata_that_does_not_match_the_model_input_writes_nothing(tmp_path, capsys):
    tflite = _model(tmp_path, feature_params=FeatureConfig(kind="mfe").to_dict())  # 99 x 40, the model takes 50 x 13
    code, err = _cli(["firmware", str(tflite), "--out", str(tmp_path / "c")], capsys)
    assert code == 2 and f"takes input [1, {FEATURES.n_frames}, 13, 1]" in err
    assert not (tmp_path / "c").exists()


ARM_MATH_STUB = """/* arm_rfft_fast_f32 as CMSIS-DSP documents it, by a plain DFT in double: checks the front end's CMSIS path */
#include <math.h>
#include <stdint.h>
typedef float float32_t;
typedef struct { uint16_t fftLen; } arm_rfft_fast_instance_f32;
typedef enum { ARM_MATH_SUCCESS = 0 } arm_status;
static inline arm_status arm_rfft_fast_init_f32(arm_rfft_fast_instance_f32 *s, uint16_t n) { s->fftLen = n; return ARM_MATH_SUCCESS; }
static inline void arm_rfft_fast_f32(const arm_rfft_fast_instance_f32 *s, float32_t *p, float32_t *out, uint8_t inverse) {
    uint32_t n = s->fftLen, k, t;
    (void)inverse;
    for (k = 0; k <= n / 2; k++) {
        double re = 0.0, im = 0.0;
        for (t = 0; t < n; t++) {
            re += p[t] * cos(2.0 * 3.14159265358979323846 * k * t / n);
            im -= p[t] * sin(2.0 * 3.14159265358979323846 * k * t / n);
        }
        if (k == 0) out[0] = (float32_t)re;
        else if (k == n / 2) out[1] = (float32_t)re;
        else { out[2 * k] = (float32_t)re; out[2 * k + 1] = (float32_t)im; }
    }
}
"""


def test_cmsis_dsp_switch_uses_arm_rfft_fast_f32_in_its_layout(exported, tmp_path):
    folder, _ = exported
    (tmp_path / "arm_math.h").write_text(ARM_MATH_STUB)
    plain = CFrontend(folder)
    cmsis = CFrontend(folder, build_dir=tmp_path, defines=("KWS_USE_CMSIS_DSP",), include_dirs=(tmp_path,))
    assert cmsis.state_bytes > plain.state_bytes  # the rfft instance and its output buffer join the state
    waves = np.stack([tone_clip(label, s, 0) for label in ("low", "mid", "high") for s in range(4)])
    pcm = np.round(waves * 32767).astype(np.int16)
    a, b = plain.clips(pcm, sample_rate_hz=16000), cmsis.clips(pcm, sample_rate_hz=16000)
    step = np.abs(a.astype(int) - b.astype(int))
    assert step.max() <= 1 and np.mean(step == 0) >= 0.999
