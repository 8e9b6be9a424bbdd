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
