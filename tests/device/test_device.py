import time

import pytest

from kwsauto.device import Budget, Buffer, check_budget, estimate_footprint, get_device, plan_arena
from kwsauto.errors import ConfigError
from kwsauto.export import trace_int8_graph
from kwsauto.features import FeatureConfig
from kwsauto.models import ModelSpec, create_model


def test_planner_reuses_memory_of_dead_buffers():
    # a chain a -> b -> c: a and c never live together, so c can take a's place
    head, offsets = plan_arena([Buffer(1000, 0, 1), Buffer(2000, 1, 2), Buffer(1000, 2, 3)])
    assert head == 3008  # 1008 (aligned) + 2000
    assert offsets[0] == offsets[2]


def test_planner_separates_overlapping_buffers():
    head, offsets = plan_arena([Buffer(100, 0, 5), Buffer(100, 0, 5), Buffer(100, 0, 5)])
    assert head == 3 * 112 and len(set(offsets)) == 3


def _footprint(width, arch="mobilenetv1", stride=0.02, device="cortex-m4f-80mhz"):
    features = FeatureConfig(frame_stride_s=stride)
    model = create_model(ModelSpec(arch, width), 12, features.shape)
    return estimate_footprint(trace_int8_graph(model, features.shape), features, get_device(device))


def test_footprint_grows_with_width_and_resolution():
    small, large = _footprint(0.1), _footprint(0.5)
    assert small.ram_bytes < large.ram_bytes and small.flash_bytes < large.flash_bytes
    assert small.latency_ms < large.latency_ms and small.macs < large.macs
    assert _footprint(0.25, stride=0.01).ram_bytes > _footprint(0.25, stride=0.02).ram_bytes
    assert small.ram_bytes == small.arena_bytes + small.dsp_ram_bytes


def test_faster_clock_is_faster():
    assert _footprint(0.25, device="cortex-m7-480mhz").latency_ms < _footprint(0.25).latency_ms


def test_budget_names_the_limit_that_fails():
    footprint = _footprint(0.5)
    device = get_device("cortex-m4f-80mhz")
    violations = check_budget(footprint, Budget(ram_bytes=16 * 1024, latency_ms=1.0), device)
    assert {v.limit for v in violations} == {"ram_bytes", "latency_ms"}
    assert "ram" in violations[0].describe() and "%" in violations[0].describe()
    assert not check_budget(footprint, Budget(), get_device("cortex-m7-480mhz"))


def test_footprint_before_training_is_fast():
    started = time.perf_counter()
    _footprint(0.35, arch="mobilenetv2")
    assert time.perf_counter() - started < 2.0  # generous for a loaded CI machine; typically ~0.1 s


def test_custom_device_and_errors():
    device = get_device("custom:clock=100MHz,ram=128KB,flash=512KB")
    assert device.clock_hz == 100e6 and device.ram_bytes == 131072 and device.flash_bytes == 524288
    with pytest.raises(ConfigError, match="missing flash"):
        get_device("custom:clock=100MHz,ram=128KB")
    with pytest.raises(ConfigError, match="did you mean 'cortex-m7-216mhz'"):
        get_device("cortex-m7-216")


@pytest.mark.parametrize("name", ["dscnn", "mobilenetv1_010", "mobilenetv2_010", "mobilenetv2_035"])
def test_full_arena_estimate_is_within_a_tenth_of_a_percent_of_tflms(name, tmp_path):
    """The estimate (planned activations plus TFLM's persistent allocations) against the arena TFLM itself needs."""
    from kwsauto.export import placeholder_quantized_graph, tflite_bytes, tflm_arena_usage
    from kwsauto.models import resolve

    entry, features, labels = resolve(name), FeatureConfig(frame_stride_s=0.02), tuple(f"w{i}" for i in range(12))
    graph = trace_int8_graph(create_model(ModelSpec(entry.arch, entry.width), len(labels), features.shape), features.shape)
    footprint = estimate_footprint(graph, features, get_device("host"), labels=labels)  # 64-bit pointers, as measured
    path = tmp_path / "model.tflite"
    path.write_bytes(tflite_bytes(placeholder_quantized_graph(graph), labels=labels, feature_params=features.to_dict()))
    measured = tflm_arena_usage(path).arena_bytes
    assert footprint.persistent_bytes > 0 and footprint.arena_bytes == footprint.activation_bytes + footprint.persistent_bytes
    assert abs(footprint.arena_bytes - measured) <= 0.001 * measured, (footprint.arena_bytes, measured)
