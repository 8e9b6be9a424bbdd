import optuna
import pytest

from kwsauto.errors import ConfigError
from kwsauto.search import builtin_spaces, load_space, parse_space


@pytest.mark.parametrize("name", sorted(builtin_spaces()))
def test_builtin_spaces_load_and_sample(name):
    space = load_space(name)
    trial = optuna.trial.FixedTrial({p.name: p.extremes()[-1] for p in space.params})
    config = space.sample(trial)
    assert config.model.arch in ("mobilenetv1", "mobilenetv2", "dscnn")
    assert space.architecture_choices()


def test_default_space_covers_the_issue_parameters():
    names = {p.name for p in load_space("default").params}
    for required in ("model.arch", "model.width", "train.learning_rate", "train.epochs", "train.auto_balance",
                     "train.augment.noise", "train.augment.time_mask", "train.augment.freq_mask",
                     "train.augment.warping", "model.head_units"):
        assert required in names
    lr = next(p for p in load_space("default").params if p.name == "train.learning_rate")
    assert lr.log


@pytest.mark.parametrize(
    "raw, match",
    [
        ({"model": {"widht": 0.5}}, r"Unknown key 'model.widht'.*did you mean 'width'.*valid: \["),
        ({"modle": {}}, "did you mean 'model'"),
        ({"train": {"epochs": {"int": [40, 10]}}}, r"needs low < high, but got \[40, 10\]"),
        ({"train": {"learning_rate": {"float": [0, 0.1], "log": True}}}, "log: true"),
        ({"model": {"width": {"choices": []}}}, "non-empty list"),
        ({"model": {"width": {"choice": [1]}}}, "did you mean 'choices'"),
        ({"model": {"arch": {"choices": ["mobilenetv1", "resnet"]}}}, "model.arch='resnet' is not valid"),
        ({"train": {"augment": {"noise": {"choices": ["none", "loud"]}}}}, "train.augment.noise='loud'"),
    ],
)
def test_bad_spaces_name_the_key_and_the_fix(raw, match):
    with pytest.raises(ConfigError, match=match):
        parse_space(raw)


def test_unknown_space_name(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'default'"):
        load_space("defualt")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_space(bad)


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A stand-in for the shipped backbones: mobilenetv1_010 only, pretrained on 50x40 MFE."""
    from kwsauto.features import FeatureConfig
    from kwsauto.models import _pretrained
    from tests.conftest import TONE_FEATURES_CONFIG, save_random_backbone

    save_random_backbone(tmp_path / "mobilenetv1_010.safetensors", labels=tuple("abcd"))
    monkeypatch.setattr(_pretrained, "PRETRAINED_DIR", tmp_path)
    return FeatureConfig(**TONE_FEATURES_CONFIG)


def test_pretrained_trials_take_the_backbone_features_and_sample_finetuning(shipped):
    space = parse_space({
        "features": {"kind": {"choices": ["mfe", "mfcc"]}, "frame_stride_s": {"choices": [0.01, 0.02]}},
        "model": {"arch": {"choices": ["mobilenetv1", "dscnn"]}, "width": {"choices": [0.1, 1.0]},
                  "pretrained": {"choices": [True, False]}},
        "train": {"freeze_epochs": {"choices": [0, 2]}, "backbone_lr_factor": {"float": [0.1, 1.0], "log": True}},
    })
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(60):
        trial = study.ask()
        config = space.sample(trial)
        pretrained = config.model.pretrained
        seen.add((config.model.name, pretrained))
        if pretrained:
            assert config.model.name == "mobilenetv1_010"
            assert config.features == shipped  # the backbone's, whatever the space says
            assert not any(k.startswith("features.") for k in trial.params)
            assert {"train.freeze_epochs", "train.backbone_lr_factor"} <= set(trial.params)
        else:
            assert config.train.freeze_epochs == 0 and config.train.backbone_lr_factor == 1.0
            assert "train.freeze_epochs" not in trial.params
        if config.model.name != "mobilenetv1_010":
            assert "model.pretrained" not in trial.params  # nothing ships for it: from scratch
        study.tell(trial, 0.5)
    assert ("mobilenetv1_010", True) in seen and ("mobilenetv1_010", False) in seen and ("dscnn", False) in seen


def test_with_checkpoint_pins_model_and_features(shipped, tmp_path):
    space = load_space("default").with_checkpoint(tmp_path / "mobilenetv1_010.safetensors")
    names = {p.name for p in space.params}
    assert not names & {"model.arch", "model.width", "model.pretrained", "features.kind", "features.n_filters"}
    config = space.sample(optuna.trial.FixedTrial({p.name: p.extremes()[0] for p in space.params}))
    assert config.model.name == "mobilenetv1_010" and config.model.pretrained == str(tmp_path / "mobilenetv1_010.safetensors")
    assert config.features == shipped


def test_checkpoint_without_features_keeps_the_feature_search(tmp_path):
    """torchvision's ImageNet weights fix the model (MobileNetV2 1.0) but not the front end."""
    import torch
    from torchvision.models import mobilenet_v2

    torch.save(mobilenet_v2().state_dict(), tmp_path / "mobilenet_v2-b0353104.pth")
    space = load_space("default").with_checkpoint(tmp_path / "mobilenet_v2-b0353104.pth")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    config = space.sample(trial)
    assert config.model.name == "mobilenetv2_100" and config.model.pretrained.endswith("mobilenet_v2-b0353104.pth")
    assert "features.kind" in trial.params and "train.freeze_epochs" in trial.params


def test_builtin_seeds_are_the_documented_recipes_of_the_default_space():
    """MLPerf Tiny's DS-CNN on 49x10 MFCC with the reference recipe (at width 1.0 and 1.5), and Edge Impulse's
    pretrained MobileNetV1 0.1 on 50x40 MFE."""
    import optuna

    from kwsauto.search._enqueue import read_parameter_sets
    from kwsauto.search._space import builtin_seeds

    space = load_space("default")
    sets = read_parameter_sets(builtin_seeds("default"), space)  # names and values checked against the space
    dscnn, wide, mobilenet = (space.sample(optuna.trial.FixedTrial(params)) for params in sets)
    for config, width in ((dscnn, 1.0), (wide, 1.5)):
        assert (config.model.arch, config.model.width, config.features.kind, config.features.shape) == (
            "dscnn", width, "mfcc", (1, 49, 10))
        assert (config.train.optimizer, config.train.lr_schedule, config.train.learning_rate) == ("adamw", "onecycle",
                                                                                                  0.003)
    assert (mobilenet.model.arch, mobilenet.model.width, mobilenet.model.pretrained) == ("mobilenetv1", 0.1, True)
    assert (mobilenet.features.kind, mobilenet.features.shape) == ("mfe", (1, 50, 40))
    assert builtin_seeds("quick") is None or read_parameter_sets(builtin_seeds("quick"), load_space("quick"))


def test_depth_is_sampled_for_the_dscnn_only():
    space = parse_space({"model": {"arch": {"choices": ["dscnn", "mobilenetv1"]}, "depth": {"choices": [4, 5, 6]}}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        config = space.sample(trial)
        assert ("model.depth" in trial.params) == (config.model.arch == "dscnn")
        seen.add((config.model.arch, config.model.depth))
    assert {("dscnn", 4), ("dscnn", 5), ("dscnn", 6), ("mobilenetv1", 0)} <= seen
    archs = {(c.model.arch, c.model.depth) for c in space.architecture_choices()}
    assert archs == {("dscnn", 4), ("dscnn", 5), ("dscnn", 6), ("mobilenetv1", 0)}
