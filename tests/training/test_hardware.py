import pytest
import torch

from kwsauto.data import load_dataset
from kwsauto.errors import ConfigError
from kwsauto.features import FeatureConfig, compute_features
from kwsauto.models import ModelSpec
from kwsauto.training import (
    Available,
    HardwareRequest,
    TrainConfig,
    TrialConfig,
    fit,
    gpu_for_worker,
    resolve_hardware,
)

CPU_ONLY = Available(torch_build="torch 2.x+cpu, CUDA none")
TWO_GPUS = Available(cuda_devices=("GPU A", "GPU B"), cuda_bf16=True)
OLD_GPU = Available(cuda_devices=("GPU T",), cuda_bf16=False)
MAC = Available(mps=True)
NO_GPU_HERE = not torch.cuda.is_available() and not (torch.backends.mps.is_available())


@pytest.mark.parametrize(
    "accelerator, available, expected",
    [
        ("auto", CPU_ONLY, "cpu"),
        ("auto", TWO_GPUS, "cuda:0"),
        ("auto", MAC, "mps"),
        ("cpu", TWO_GPUS, "cpu"),
        ("gpu", TWO_GPUS, "cuda:0"),
        ("gpu", MAC, "mps"),
    ],
)
def test_auto_takes_cuda_then_mps_then_the_cpu(accelerator, available, expected):
    hardware = resolve_hardware(HardwareRequest(accelerator), available=available)
    assert hardware.label == expected and str(hardware.device) == expected
    assert hardware.trainer_kwargs()["accelerator"] == expected.split(":")[0]


def test_gpu_without_one_is_a_one_line_error_naming_the_fix():
    with pytest.raises(ConfigError, match="accelerator is gpu, but torch sees no GPU .*torch 2.x\\+cpu.*accelerator auto"):
        resolve_hardware(HardwareRequest("gpu"), available=CPU_ONLY)


@pytest.mark.parametrize(
    "request_, available, match",
    [
        (HardwareRequest("cpu", "16-mixed"), TWO_GPUS, "16-mixed needs a GPU"),
        (HardwareRequest("auto", "16-mixed"), CPU_ONLY, "16-mixed needs a GPU"),
        (HardwareRequest("gpu", "bf16-mixed"), OLD_GPU, "GPU T has no bfloat16 support"),
    ],
)
def test_a_precision_the_device_cannot_run_is_refused(request_, available, match):
    with pytest.raises(ConfigError, match=match):
        resolve_hardware(request_, available=available)


def test_precisions_the_device_runs_reach_the_trainer():
    assert resolve_hardware(HardwareRequest("auto", "16-mixed"), available=TWO_GPUS).trainer_kwargs() == {
        "accelerator": "cuda", "devices": [0], "precision": "16-mixed"}
    assert resolve_hardware(HardwareRequest("cpu", "bf16-mixed"), available=CPU_ONLY).trainer_kwargs() == {
        "accelerator": "cpu", "devices": 1, "precision": "bf16-mixed"}


@pytest.mark.parametrize(
    "values, match",
    [({"accelerator": "cuda"}, "accelerator must be one of auto, cpu, gpu, but got 'cuda'"),
     ({"accelerator": "gp"}, "did you mean 'gpu'"),
     ({"precision": "16"}, "did you mean '16-mixed'")],
)
def test_unknown_names_list_the_choices(values, match):
    with pytest.raises(ConfigError, match=match):
        HardwareRequest(**values)


def test_workers_take_the_gpus_round_robin():
    assert [gpu_for_worker(w, 2) for w in range(5)] == [0, 1, 0, 1, 0]
    assert [gpu_for_worker(w, 0) for w in range(3)] == [0, 0, 0]
    devices = [resolve_hardware(HardwareRequest(), worker=w, available=TWO_GPUS) for w in range(3)]
    assert [(h.label, h.name) for h in devices] == [("cuda:0", "GPU A"), ("cuda:1", "GPU B"), ("cuda:0", "GPU A")]
    assert [resolve_hardware(worker=w, available=CPU_ONLY).label for w in range(3)] == ["cpu"] * 3


def test_hardware_record_names_accelerator_device_and_precision():
    record = resolve_hardware(HardwareRequest("gpu", "bf16-mixed"), worker=1, available=TWO_GPUS).to_dict()
    assert record == {"accelerator": "cuda", "device": "cuda:1", "name": "GPU B", "precision": "bf16-mixed"}


FEATURES = FeatureConfig(frame_stride_s=0.02)


@pytest.fixture(scope="module")
def tone_index(tone_dataset):
    return load_dataset(tone_dataset)


def test_bf16_mixed_training_on_the_cpu_records_where_it_ran(tone_index):
    features = compute_features(tone_index, FEATURES)
    config = TrialConfig(FEATURES, ModelSpec("dscnn", 0.25), TrainConfig(epochs=2, batch_size=16))
    hardware = resolve_hardware(HardwareRequest("cpu", "bf16-mixed"))
    result = fit(features, config, hardware=hardware)
    assert result.hardware == hardware and result.hardware.to_dict()["precision"] == "bf16-mixed"
    assert result.epochs_run == 2 and 0.0 <= result.val_accuracy <= 1.0
    assert next(result.model.parameters()).device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU: the GPU path runs where torch sees one")
def test_features_and_training_on_the_gpu_match_the_cpu_within_float_rounding(tone_index, tmp_path):
    cpu = compute_features(tone_index, FEATURES, cache_dir=tmp_path / "cpu")
    gpu = compute_features(tone_index, FEATURES, cache_dir=tmp_path / "gpu", device="cuda")
    torch.testing.assert_close(gpu["train"].features, cpu["train"].features, atol=1e-4, rtol=1e-4)
    config = TrialConfig(FEATURES, ModelSpec("dscnn", 0.25), TrainConfig(epochs=6, batch_size=16))
    on_cpu = fit(cpu, config, hardware=resolve_hardware(HardwareRequest("cpu")), evaluate_test=True)
    on_gpu = fit(cpu, config, hardware=resolve_hardware(HardwareRequest("gpu")), evaluate_test=True)
    assert on_gpu.hardware.accelerator == "cuda" and next(on_gpu.model.parameters()).device.type == "cpu"
    assert abs(on_gpu.test.accuracy - on_cpu.test.accuracy) <= 0.1


@pytest.mark.skipif(not NO_GPU_HERE, reason="this machine has a GPU")
def test_gpu_request_on_this_machine_fails_before_any_work():
    with pytest.raises(ConfigError, match="torch sees no GPU"):
        resolve_hardware(HardwareRequest("gpu"))
