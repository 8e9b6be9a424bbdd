"""The backbones kwsauto ships: one per MobileNet width up to 1.0 of the default space (the widths above 1.0 are there
for DS-CNN; a MobileNet drawn at them trains from scratch), each with its recipe, ≤ 20 MB in all."""

from __future__ import annotations

import pytest
import torch

from kwsauto.models import (
    PRETRAINED_DIR,
    ModelSpec,
    create_model,
    load_backbone_checkpoint,
    shipped_backbones,
    shipped_recipe,
)
from kwsauto.pretrain import PRETRAIN_FEATURES
from kwsauto.search import load_space

DEFAULT = load_space("default")
WIDTHS = [w for w in next(p.choices for p in DEFAULT.params if p.name == "model.width") if w <= 1.0]
SHIPPED = [f"{arch}_{round(w * 100):03d}" for arch in ("mobilenetv1", "mobilenetv2") for w in WIDTHS]


def test_every_default_mobilenet_ships_pretrained_within_20_mb():
    assert sorted(shipped_backbones()) == sorted(SHIPPED)
    total = sum(p.stat().st_size for p in PRETRAINED_DIR.iterdir())
    assert total <= 20 * 1024 * 1024, f"{total / 2**20:.1f} MB shipped"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_backbone_loads_with_its_recipe(name):
    recipe = shipped_recipe(name)
    assert recipe is not None and recipe["model"] == name
    assert recipe["command"].startswith("kwsauto pretrain") and "seed" in recipe["plan"]
    assert recipe["plan"]["corpus"] and recipe["epochs_run"] >= 1 and 0.0 < recipe["val_accuracy"] <= 1.0
    ckpt = load_backbone_checkpoint(shipped_backbones()[name])
    assert ckpt.features == PRETRAIN_FEATURES.to_dict() and len(ckpt.labels) == recipe["plan"]["classes"]
    arch, width = ckpt.arch, ckpt.width
    net = create_model(ModelSpec(arch, width, pretrained=True), 4, PRETRAIN_FEATURES.shape, init_pretrained=True,
                       features=PRETRAIN_FEATURES.to_dict())
    assert torch.isfinite(net.eval()(torch.zeros(1, *PRETRAIN_FEATURES.shape))).all()
