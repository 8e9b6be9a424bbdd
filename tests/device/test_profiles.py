"""Device registry, the calibrated cycle model, host measurement, and custom devices from strings and TOML files."""

import math

import pytest

from kwsauto.device._latency import (
    CALIBRATION,
    ROLES,
    TOLERANCE,
    CalibrationRow,
    calibration_graph,
    dsp_ms,
    inference_ms,
    op_cycles,
    predicted_ms,
    row_holds,
)
from kwsauto.device._profiles import (
    CORES,
    CYCLE_FIELDS,
    DEFAULT_DEVICE,
    DEVICES,
    get_device,
    load_device_file,
)
from kwsauto.errors import ConfigError
from kwsauto.features import FeatureConfig

REQUIRED = (
    "cortex-m0plus-64mhz",
    "cortex-m4f-80mhz",
    "cortex-m4f-120mhz",
    "cortex-m33-128mhz",
    "cortex-m7-216mhz",
    "cortex-m7-480mhz",
    "esp32-s3-240mhz",
    "host",
)


def test_registry_has_every_required_device():
    assert set(REQUIRED) <= set(DEVICES)
    assert DEFAULT_DEVICE == "cortex-m4f-80mhz" and get_device(DEFAULT_DEVICE).clock_hz == 80e6


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_profile_constants_are_sensible(name):
    device = DEVICES[name]
    assert (
        10e6 <= device.clock_hz <= 5e9 and device.ram_bytes >= 16 * 1024 and device.flash_bytes >= 64 * 1024
    )
    assert device.pointer_bytes == (8 if name == "host" else 4)
    assert device.measured == (name == "host")
    assert device.cycles is CORES[device.core]
    c = device.cycles
    for field in CYCLE_FIELDS:
        assert math.isfinite(getattr(c, field)) and getattr(c, field) > 0, field
    # a kxk conv, a depthwise conv and a FC never beat the 1x1 conv's matrix kernel per MAC
    assert min(c.im2col, c.depthwise, c.fully_connected) >= c.pointwise


def test_cycle_models_rank_cores_as_their_hardware():
    m0, m4, m33, m7, s3 = (
        CORES[k] for k in ("cortex-m0plus", "cortex-m4", "cortex-m33", "cortex-m7", "esp32-s3")
    )
    assert m7.pointwise < m33.pointwise <= m4.pointwise  # dual-issue M7 beats M33, which matches or beats M4
    assert m0.pointwise > 4 * m4.pointwise  # no SIMD: several times slower per clock
    assert s3.pointwise < m7.pointwise  # 128-bit PIE SIMD
    assert m4.dsp_extension and m7.dsp_extension and not m0.dsp_extension
    assert m0.dsp_per_sample > 10 * m4.dsp_per_sample  # soft-float front end


@pytest.mark.parametrize("row", CALIBRATION, ids=lambda r: r.key)
def test_calibration_row_holds(row):
    predicted = predicted_ms(row)
    assert row.role in ROLES and row.source and row.published_ms > 0
    if row.role == "fit":
        assert abs(predicted / row.published_ms - 1) <= TOLERANCE, (
            f"{row.key}: {predicted:.1f} vs {row.published_ms:.1f} ms"
        )
    else:
        assert row_holds(row, predicted), (
            f"{row.key} ({row.role}): {predicted:.1f} vs {row.published_ms:.1f} ms"
        )


def test_every_mcu_core_is_calibrated():
    cores = {row.core for row in CALIBRATION}
    assert cores == set(CORES) - {"host"}
    fitted = {row.core for row in CALIBRATION if row.role == "fit"}
    assert {"cortex-m4", "cortex-m33", "cortex-m7", "esp32-s3"} <= fitted
    assert {row.model for row in CALIBRATION if row.role == "fit"} >= {"kws", "vww"}


def test_mlperf_models_have_their_published_size():
    assert calibration_graph("kws").macs == 2_656_768  # the MLPerf Tiny DS-CNN on 49x10 MFCC: 2.66 M MACs
    assert 7.4e6 < calibration_graph("vww").macs < 7.6e6  # MobileNetV1 0.25 at 96x96x3: 7.5 M MACs


def test_row_checks_follow_their_role():
    base = {
        "key": "k",
        "model": "kws",
        "board": "b",
        "core": "cortex-m4",
        "clock_hz": 1e8,
        "stack": "s",
        "source": "s",
    }
    assert row_holds(CalibrationRow(**base, published_ms=100, role="fit"), 134.0)
    assert not row_holds(CalibrationRow(**base, published_ms=100, role="fit"), 136.0)
    assert not row_holds(CalibrationRow(**base, published_ms=100, role="fit"), 64.0)
    assert row_holds(CalibrationRow(**base, published_ms=100, role="faster"), 300.0)
    assert not row_holds(CalibrationRow(**base, published_ms=100, role="faster"), 99.0)
    assert row_holds(CalibrationRow(**base, published_ms=100, role="older"), 40.0)
    assert not row_holds(CalibrationRow(**base, published_ms=100, role="older"), 101.0)


def test_latency_scales_with_clock_and_kernel():
    graph = calibration_graph("kws")
    slow, fast = (
        inference_ms(graph, get_device("cortex-m4f-80mhz")),
        inference_ms(graph, get_device("cortex-m4f-120mhz")),
    )
    assert slow == pytest.approx(1.5 * fast)
    first, pointwise = (
        graph.ops[0],
        next(op for op in graph.ops if op.kind == "CONV_2D" and op.weight_shape[1:3] == (1, 1)),
    )
    m4 = CORES["cortex-m4"]
    assert op_cycles(first, graph, m4) > first.macs * m4.im2col  # the 10x4 stem runs the im2col kernel
    assert op_cycles(pointwise, graph, m4) < pointwise.macs * m4.im2col


def test_dsp_cost_follows_the_number_of_frames():
    device = get_device("cortex-m4f-80mhz")
    coarse, fine = (
        dsp_ms(FeatureConfig(frame_stride_s=0.02), device),
        dsp_ms(FeatureConfig(frame_stride_s=0.01), device),
    )
    assert fine == pytest.approx(coarse * 99 / 50)
    assert 2 < coarse < 50  # a 1 s MFE window on an 80 MHz M4F: milliseconds, not seconds
    assert dsp_ms(FeatureConfig(), get_device("cortex-m0plus-64mhz")) > 10 * dsp_ms(FeatureConfig(), device)


def test_host_latency_is_measured_with_litert():
    graph = calibration_graph("kws")
    host = get_device("host")
    first = inference_ms(graph, host)
    assert 0 < first < 1000 and inference_ms(graph, host) == first  # cached per graph


def test_custom_string_device_takes_base_and_cycle_overrides():
    device = get_device("custom:clock=100MHz,ram=128KB,flash=512KB,base=cortex-m7-216mhz,pointwise=2")
    assert (device.clock_hz, device.ram_bytes, device.flash_bytes) == (100e6, 131072, 524288)
    assert device.cycles.pointwise == 2 and device.cycles.depthwise == CORES["cortex-m7"].depthwise
    assert device.pointer_bytes == 4 and not device.measured
    assert get_device("custom:clock=100MHz,ram=128KB,flash=512KB").cycles == CORES["cortex-m4"]


def _toml(tmp_path, text):
    path = tmp_path / "board.toml"
    path.write_text(text)
    return path


def test_toml_device(tmp_path):
    path = _toml(
        tmp_path,
        'name = "my-board"\nclock = "150MHz"\nram = "256KB"\nflash = 1048576\nbase = "cortex-m33-128mhz"\n'
        "[cycles]\npointwise = 2.5\nper_op = 500\n",
    )
    device = get_device(str(path))
    assert device == load_device_file(path)
    assert (device.name, device.clock_hz, device.ram_bytes, device.flash_bytes) == (
        "my-board",
        150e6,
        262144,
        1048576,
    )
    assert device.cycles.pointwise == 2.5 and device.cycles.per_op == 500
    assert device.cycles.depthwise == CORES["cortex-m33"].depthwise and "custom" in device.core
    assert inference_ms(calibration_graph("kws"), device) > 0
    default = load_device_file(_toml(tmp_path, 'name = "b"\nclock = 8e7\nram = "64KB"\nflash = "256KB"\n'))
    assert default.cycles == CORES["cortex-m4"] and default.clock_hz == 80e6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "b"\nclock = "100MHz"\nram = "64KB"\n', "missing flash"),
        ('clock = "100MHz"\nram = "64KB"\nflash = "1MB"\n', "missing name"),
        ('name = "b"\nclock = "100MHz"\nram = "64KB"\nflash = "1MB"\nflahs = 1\n', "did you mean 'flash'"),
        (
            'name = "b"\nclock = "100MHz"\nram = "64KB"\nflash = "1MB"\n[cycles]\npointwize = 1\n',
            "did you mean 'pointwise'",
        ),
        ('name = "b"\nclock = "100MHz"\nram = "64KB"\nflash = "1MB"\n[cycles]\nper_op = -1\n', "per_op"),
        ('name = "b"\nclock = "100MHz"\nram = "64KB"\nflash = "1MB"\nbase = "host"\n', "measured"),
        (
            'name = "b"\nclock = "100MHz"\nram = "64KB"\nflash = "1MB"\nbase = "cortex-m7"\n',
            "did you mean 'cortex-m7",
        ),
        ('name = "b"\nclock = "100MHz"\nram = "64KB"\nflash = "1MB"\npointer_bytes = 6\n', "pointer_bytes"),
        ('name = "b"\nclock = "fast"\nram = "64KB"\nflash = "1MB"\n', "Cannot read clock"),
        ('name = "b"\nclock = \n', "not valid TOML"),
    ],
)
def test_toml_device_errors_are_one_line(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as err:
        get_device(str(_toml(tmp_path, text)))
    assert "\n" not in str(err.value)


def test_device_errors(tmp_path):
    with pytest.raises(ConfigError, match="Cannot read device file"):
        get_device(str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="missing ram"):
        get_device("custom:clock=100MHz,flash=1MB")
    with pytest.raises(ConfigError, match="did you mean 'pointwise'"):
        get_device("custom:clock=100MHz,ram=1MB,flash=1MB,pointwize=1")
    with pytest.raises(ConfigError, match="did you mean 'esp32-s3-240mhz'"):
        get_device("esp32-s3")
