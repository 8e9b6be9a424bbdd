import pytest
import torch
from torch import nn

from kwsauto.errors import ConfigError
from kwsauto.models import ModelSpec, create_model, list_models, resolve


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_builds_and_runs(name):
    entry = resolve(name)
    model = create_model(ModelSpec(entry.arch, entry.width), 5, (1, 49, 40)).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 1, 49, 40))
    assert out.shape == (2, 5)


def test_registry_names_carry_variant_and_width():
    names = list_models()
    for width in ("010", "020", "025", "035", "050", "075", "100"):
        assert f"mobilenetv1_{width}" in names and f"mobilenetv2_{width}" in names
    assert "dscnn" in names
    assert ModelSpec("mobilenetv2", 0.35).name == "mobilenetv2_035"


def test_unknown_names_suggest_a_fix():
    with pytest.raises(ConfigError, match="did you mean 'mobilenetv1_025'"):
        resolve("mobilenetv1_25")
    with pytest.raises(ConfigError, match="did you mean 'mobilenetv2'"):
        create_model(ModelSpec("mobilenetv2x", 0.5), 3, (1, 49, 40))


def test_head_has_optional_dense_layer():
    plain = create_model(ModelSpec("mobilenetv1", 0.1, head_units=0), 4, (1, 49, 40))
    dense = create_model(ModelSpec("mobilenetv1", 0.1, head_units=32), 4, (1, 49, 40))
    assert isinstance(plain.head.dense, nn.Identity)
    assert dense.head.dense[0].out_features == 32 and dense.head.fc.in_features == 32


def test_stride2_convs_pad_like_tflite_same():
    # 50 frames is even: TFLite SAME pads (0, 1) for a 3x3 stride-2 conv, PyTorch would pad (1, 1)
    model = create_model(ModelSpec("mobilenetv1", 0.25), 3, (1, 50, 40))
    stem = model.backbone.features[0][0]
    assert isinstance(stem, nn.Sequential) and isinstance(stem[0], nn.ZeroPad2d)
    assert stem[0].padding == (0, 1, 0, 1)


def test_the_registry_builds_every_architecture_the_name_table_lists():
    from kwsauto.models._names import ARCHITECTURE_NAMES
    from kwsauto.models._registry import ARCHITECTURES

    assert tuple(ARCHITECTURES) == ARCHITECTURE_NAMES


def test_dscnn_depth_adds_blocks_flash_and_latency_but_no_activation_ram():
    from kwsauto.device import get_device
    from kwsauto.errors import ConfigError
    from kwsauto.features import FeatureConfig
    from kwsauto.search._feasibility import footprint_of
    from kwsauto.training import TrialConfig

    features = FeatureConfig(kind="mfcc", frame_length_s=0.04, frame_stride_s=0.02, n_filters=40, n_coefficients=10)
    device, labels = get_device("cortex-m4f-80mhz"), tuple("abcdefghijkl")
    prints = {}
    for depth in (4, 5, 6):
        spec = ModelSpec(arch="dscnn", width=1.5, depth=depth)
        net = create_model(spec, len(labels), features.shape)
        depthwise = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
        assert len(depthwise) == depth  # one depthwise conv per block
        prints[depth] = footprint_of(TrialConfig(features=features, model=spec), labels, device)
    assert ModelSpec(arch="dscnn", width=1.5, depth=4).name == ModelSpec(arch="dscnn", width=1.5).name == "dscnn_150"
    assert ModelSpec(arch="dscnn", width=1.5, depth=6).name == "dscnn_150_d6"
    assert prints[4].flash_bytes < prints[5].flash_bytes < prints[6].flash_bytes
    assert prints[4].latency_ms < prints[5].latency_ms < prints[6].latency_ms
    # every block keeps the activation size: the activation peak is the same, whatever the depth
    assert prints[4].activation_bytes == prints[5].activation_bytes == prints[6].activation_bytes
    with pytest.raises(ConfigError, match="depth=5 is not valid for mobilenetv1"):
        ModelSpec(arch="mobilenetv1", depth=5)
    with pytest.raises(ConfigError, match="valid: 1-8"):
        ModelSpec(arch="dscnn", depth=9)
