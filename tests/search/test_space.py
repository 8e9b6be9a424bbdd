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
