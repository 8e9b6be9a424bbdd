"""Backbone checkpoints: round trip, padding-independent keys, other sources, and one-line errors."""

from __future__ import annotations

import pickle

import pytest
import torch
from torchvision.models import mobilenet_v2

from kwsauto.features import FeatureConfig
from kwsauto.models import CheckpointError, ModelSpec, create_model, load_backbone_checkpoint, load_pretrained
from kwsauto.models._checkpoint import canonical_state_dict
from tests.conftest import TONE_FEATURES_CONFIG, save_random_backbone

FEATURES = FeatureConfig(**TONE_FEATURES_CONFIG)


def _save(path):
    return save_random_backbone(path, recipe={"seed": 0})


def _pretrained(path, arch="mobilenetv1", width=0.1, shape=(1, 50, 40), features=FEATURES):
    spec = ModelSpec(arch, width, pretrained=str(path))
    return load_pretrained(create_model(spec, 3, shape), spec, features.to_dict())


def test_round_trip_keeps_weights_within_int8_rounding(tmp_path):
    source = _save(tmp_path / "b.safetensors")
    loaded = _pretrained(tmp_path / "b.safetensors")
    original, restored = canonical_state_dict(source.backbone), canonical_state_dict(loaded.backbone)
    assert original.keys() == restored.keys()
    for key, value in original.items():
        if value.is_floating_point() and value.dim() >= 2:
            step = value.reshape(value.shape[0], -1).abs().amax(1) / 127  # one int8 step per output channel
            error = (value - restored[key]).reshape(value.shape[0], -1).abs().amax(1)
            assert torch.all(error <= step / 2 + 1e-7), key
        else:
            assert torch.equal(value, restored[key]), key
    ckpt = load_backbone_checkpoint(tmp_path / "b.safetensors")
    assert (ckpt.arch, ckpt.width, ckpt.labels, ckpt.recipe) == ("mobilenetv1", 0.1, ("a", "b", "c", "d", "e"), {"seed": 0})
    assert ckpt.features == FEATURES.to_dict()


def test_checkpoint_serves_other_input_shapes(tmp_path):
    """Keys are taken before SAME padding wraps convs, so a 50x40 backbone loads into a 99x40 model."""
    _save(tmp_path / "b.safetensors")
    other = FeatureConfig(kind="mfe", frame_length_s=0.02, frame_stride_s=0.01, n_filters=40)
    spec = ModelSpec("mobilenetv1", 0.1, pretrained=str(tmp_path / "b.safetensors"))
    net = load_pretrained(create_model(spec, 3, (1, 99, 40)), spec)  # features unknown to the caller: not checked
    assert net(torch.zeros(2, 1, 99, 40)).shape == (2, 3)
    with pytest.raises(CheckpointError, match="pretrained on other features: frame_stride_s=0.02"):
        _pretrained(tmp_path / "b.safetensors", shape=(1, 99, 40), features=other)


def test_wrong_architecture_or_width_is_one_line(tmp_path):
    _save(tmp_path / "b.safetensors")
    with pytest.raises(CheckpointError, match="is a mobilenetv1_010 backbone, but the model is mobilenetv1_025") as exc:
        _pretrained(tmp_path / "b.safetensors", width=0.25)
    assert "\n" not in str(exc.value)
    with pytest.raises(CheckpointError, match="mobilenetv2_010"):
        _pretrained(tmp_path / "b.safetensors", arch="mobilenetv2")


def test_bare_state_dict_of_another_width_names_the_key(tmp_path):
    net = create_model(ModelSpec("mobilenetv1", 0.25), 3, (1, 50, 40))
    torch.save(net.state_dict(), tmp_path / "net.pt")  # a whole kwsauto network, no metadata
    ok = _pretrained(tmp_path / "net.pt", width=0.25)
    assert torch.equal(ok.backbone.features[1][0].weight, net.backbone.features[1][0].weight)
    with pytest.raises(CheckpointError, match=r"net.pt: .* has shape .* another width or architecture"):
        _pretrained(tmp_path / "net.pt", width=0.5)


def test_lightning_checkpoint_is_read(tmp_path):
    net = create_model(ModelSpec("mobilenetv1", 0.1), 3, (1, 50, 40))
    state = {f"model.{k}": v for k, v in net.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "last.ckpt")
    loaded = _pretrained(tmp_path / "last.ckpt")
    assert torch.equal(loaded.backbone.features[0][1].running_mean, net.backbone.features[0][1].running_mean)


def test_corrupt_and_non_weight_files_are_one_line(tmp_path):
    (tmp_path / "junk.safetensors").write_bytes(b"\x00\x01not a tensor file at all")
    (tmp_path / "junk.pt").write_bytes(b"PK\x03\x04 truncated zip")
    (tmp_path / "list.pt").write_bytes(b"")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    for name, pattern in (("junk.safetensors", "not a readable safetensors"), ("junk.pt", "not a readable torch"),
                          ("list.pt", "does not hold a state dict"), ("missing.pt", "does not exist")):
        with pytest.raises(CheckpointError, match=pattern) as exc:
            load_backbone_checkpoint(tmp_path / name)
        assert name in str(exc.value) and "\n" not in str(exc.value)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickle_that_weights_only_refuses_is_one_line(tmp_path):
    with (tmp_path / "evil.pt").open("wb") as fh:
        torch.save({"weights": _Evil()}, fh, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="evil.pt holds pickled Python objects that torch.load") as exc:
        load_backbone_checkpoint(tmp_path / "evil.pt")
    assert "\n" not in str(exc.value)


def test_torchvision_imagenet_mobilenetv2_folds_rgb(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(CheckpointError, match="No torchvision ImageNet MobileNetV2 weights in .*never downloads"):
        load_backbone_checkpoint("imagenet")
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    imagenet = mobilenet_v2()  # random weights in torchvision's layout stand in for the ImageNet file
    torch.save(imagenet.state_dict(), hub / "mobilenet_v2-b0353104.pth")
    ckpt = load_backbone_checkpoint("imagenet")
    assert (ckpt.arch, ckpt.width, ckpt.source, ckpt.features) == ("mobilenetv2", 1.0, "torchvision-imagenet", None)
    spec = ModelSpec("mobilenetv2", 1.0, pretrained="imagenet")
    net = load_pretrained(create_model(spec, 4, (1, 50, 40)), spec, FEATURES.to_dict())
    stem = imagenet.features[0][0].weight.sum(dim=1, keepdim=True)  # [32, 1, 3, 3]
    assert torch.allclose(canonical_state_dict(net.backbone)["features.0.0.weight"], stem)
    assert torch.equal(net.backbone.features[5].conv[1][0].weight, imagenet.features[5].conv[1][0].weight)
    with pytest.raises(CheckpointError, match="is a mobilenetv2_100 backbone, but the model is mobilenetv2_035"):
        spec = ModelSpec("mobilenetv2", 0.35, pretrained="imagenet")
        load_pretrained(create_model(spec, 4, (1, 50, 40)), spec)


def test_shipped_backbone_for_a_model_without_one(tmp_path):
    with pytest.raises(CheckpointError, match="No pretrained backbone ships for dscnn"):
        spec = ModelSpec("dscnn", 1.0, pretrained=True)
        load_pretrained(create_model(spec, 3, (1, 49, 10)), spec)
