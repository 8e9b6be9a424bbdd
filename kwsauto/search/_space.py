"""Search spaces: YAML files of fixed values and distributions over the trial config, validated on load.

A space mirrors :class:`TrialConfig` (``features``, ``model``, ``train`` with ``augment`` inside ``train``).
Each leaf is either a fixed value or one distribution::

    width: {choices: [0.1, 0.25, 0.5]}          # categorical
    epochs: {int: [10, 40], step: 5}             # integer range (inclusive)
    learning_rate: {float: [0.0005, 0.01], log: true}

Pretrained backbones make the space conditional: ``model.pretrained`` is sampled only for an architecture and
width kwsauto ships a backbone for (elsewhere it is false: DS-CNN always trains from scratch); a pretrained trial
takes its backbone's feature config (the ``features`` parameters are not sampled), and the fine-tuning
parameters ``train.freeze_epochs`` and ``train.backbone_lr_factor`` are sampled only for pretrained trials.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from kwsauto._fields import short_repr
from kwsauto._io import read_yaml_mapping
from kwsauto.errors import ConfigError, did_you_mean
from kwsauto.features import FeatureConfig
from kwsauto.models import DEPTHS, ModelSpec, has_pretrained, pretrained_features
from kwsauto.training import AugmentConfig, TrainConfig, TrialConfig

__all__ = ["Param", "SearchSpace", "load_space", "builtin_spaces", "builtin_seeds", "SPACES_DIR"]



def _spaces_dir() -> Path:
    """``search_spaces/``: inside the installed package (the wheel maps it there), or at the top of a source tree."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "search_spaces"
    return installed if installed.is_dir() else package.parent / "search_spaces"


SPACES_DIR = _spaces_dir()
_SECTIONS = {"features": FeatureConfig, "model": ModelSpec, "train": TrainConfig, "train.augment": AugmentConfig}
_DIST_KEYS = {"choices", "int", "float", "log", "step"}
_NOT_FINETUNING = {"train.freeze_epochs": 0, "train.backbone_lr_factor": 1.0}  # a trial trained from scratch


def _sampling_order(param: Param) -> int:
    """Architecture and width first, then the rest of the model, then the others: the model decides whether a
    trial is pretrained, which decides whether features and fine-tuning are sampled."""
    if param.name in ("model.arch", "model.width"):
        return 0
    return 1 if param.name.startswith("model.") else 2


@dataclass(frozen=True)
class Param:
    """One searched parameter, named by its dotted path (``model.width``, ``train.augment.noise``)."""

    name: str
    kind: str  # "choices", "int" or "float"
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.kind == "choices":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)

    def extremes(self) -> tuple[Any, ...]:
        return self.choices if self.kind == "choices" else (self.low, self.high)


@dataclass(frozen=True)
class SearchSpace:
    """Fixed values and :class:`Param` s over a :class:`TrialConfig`; ``source`` is the file it came from."""

    fixed: dict[str, Any]
    params: tuple[Param, ...]
    source: str = ""

    def config(self, values: dict[str, Any]) -> TrialConfig:
        """The trial config for the searched ``values`` (by dotted name) over the fixed ones, with a pretrained
        trial's features replaced by its backbone's."""
        merged = {**self.fixed, **values}
        if not self._pretrained(merged):
            merged["model.pretrained"] = False
            merged.update(_NOT_FINETUNING)
        if merged.get("model.arch", ModelSpec.arch) not in DEPTHS:
            merged.pop("model.depth", None)  # a depth is searched for the architectures that have one
        nested: dict[str, Any] = {}
        for name, value in merged.items():
            node = nested
            *parents, leaf = name.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return TrialConfig.from_dict(nested).with_backbone_features()

    def _pretrained(self, values: dict[str, Any]) -> bool:
        """Whether ``values`` (merged over the fixed ones) describe a trial that starts from a backbone."""
        merged = {**self.fixed, **values}
        pretrained = merged.get("model.pretrained", False)
        if pretrained is True:
            arch = merged.get("model.arch", ModelSpec.arch)
            width = merged.get("model.width", ModelSpec.width)
            return has_pretrained(arch, width)
        return bool(pretrained)

    def _backbone_has_features(self, values: dict[str, Any]) -> bool:
        """Whether the trial's backbone checkpoint fixes the feature config (ImageNet weights, say, do not)."""
        if not self._pretrained(values):
            return False
        merged = {**self.fixed, **values}
        arch, width = merged.get("model.arch", ModelSpec.arch), merged.get("model.width", ModelSpec.width)
        return pretrained_features(arch, width, merged["model.pretrained"]) is not None

    def sample(self, trial: optuna.Trial) -> TrialConfig:
        values: dict[str, Any] = {}
        for p in sorted(self.params, key=_sampling_order):
            if p.name == "model.pretrained" and not self._pretrained({**values, p.name: True}):
                continue
            if p.name.startswith("features.") and self._backbone_has_features(values):
                continue
            if p.name in _NOT_FINETUNING and not self._pretrained(values):
                continue
            if p.name == "model.depth" and {**self.fixed, **values}.get("model.arch", ModelSpec.arch) not in DEPTHS:
                continue
            values[p.name] = p.suggest(trial)
        return self.config(values)

    def pinned(self, fixed: dict[str, Any]) -> SearchSpace:
        """This space with the given dotted names fixed (their parameters, if any, no longer searched)."""
        params = tuple(p for p in self.params if p.name not in fixed)
        return SearchSpace({**self.fixed, **fixed}, params, self.source)

    def with_checkpoint(self, path: str | Path) -> SearchSpace:
        """Every trial starts from the checkpoint at ``path`` (``--pretrained``): its architecture and width, and
        its feature config when the checkpoint records one, replace what the space says."""
        from kwsauto.models import load_backbone_checkpoint

        ckpt = load_backbone_checkpoint(path)
        fixed: dict[str, Any] = {"model.pretrained": str(path)}
        if ckpt.arch is not None:
            fixed.update({"model.arch": ckpt.arch, "model.width": ckpt.width})
        if ckpt.features is not None:
            fixed.update({f"features.{k}": v for k, v in ckpt.features.items()})
        return self.pinned(fixed)

    def architecture_choices(self) -> list[TrialConfig]:
        """Every combination of the parameters that shape the int8 graph (features and model), others fixed
        at their first value: enough to know the smallest footprint the space can reach."""
        shaping = [p for p in self.params if p.name.startswith(("features.", "model.")) and p.kind == "choices"]
        others = {p.name: p.extremes()[0] for p in self.params if p not in shaping}
        return [
            self.config({**others, **dict(zip((p.name for p in shaping), combo))})
            for combo in itertools.product(*(p.choices for p in shaping))
        ]


def builtin_spaces() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SPACES_DIR.glob("*.yaml"))}


def builtin_seeds(name_or_path: str | Path) -> Path | None:
    """The known-good configurations a built-in space tries first (``search_spaces/seeds/<name>.yaml``), if any."""
    path = SPACES_DIR / "seeds" / f"{name_or_path}.yaml"
    return path if str(name_or_path) in builtin_spaces() and path.is_file() else None


def load_space(name_or_path: str | Path = "default") -> SearchSpace:
    """Load a space by built-in name (``default``, ``quick``) or file path, and validate it."""
    path = Path(name_or_path)
    if not path.suffix:
        spaces = builtin_spaces()
        if str(name_or_path) not in spaces:
            raise ConfigError(
                f"Unknown search space {str(name_or_path)!r}{did_you_mean(str(name_or_path), spaces)}; "
                f"built-in: {sorted(spaces)}, or give a YAML file path."
            )
        path = spaces[str(name_or_path)]
    return parse_space(read_yaml_mapping(path, "Search space"), source=str(path))


def parse_space(raw: dict, source: str = "<dict>") -> SearchSpace:
    if not isinstance(raw, dict):
        raise ConfigError(f"Search space {source} must be a mapping with features/model/train sections.")
    fixed: dict[str, Any] = {}
    params: list[Param] = []
    for section, body in raw.items():
        if section not in ("features", "model", "train"):
            raise ConfigError(
                f"Unknown section {section!r} in {source}{did_you_mean(section, ['features', 'model', 'train'])}; "
                "valid: features, model, train."
            )
        _walk(section, body or {}, fixed, params, source)
    space = SearchSpace(fixed, tuple(params), source)
    _check_values(space)
    return space


def _walk(prefix: str, body: dict, fixed: dict, params: list[Param], source: str) -> None:
    if not isinstance(body, dict):
        raise ConfigError(f"{prefix} in {source} must be a mapping of settings, but got {short_repr(body)}.")
    cls = _SECTIONS[prefix]
    valid = {f.name for f in dataclasses.fields(cls)}
    for key, value in body.items():
        name = f"{prefix}.{key}"
        if key not in valid:
            raise ConfigError(f"Unknown key {name!r} in {source}{did_you_mean(key, valid)}; valid: {sorted(valid)}.")
        if name in _SECTIONS:
            _walk(name, value or {}, fixed, params, source)
        elif isinstance(value, dict):
            params.append(_param(name, value, source))
        else:
            fixed[name] = value


def _param(name: str, spec: dict, source: str) -> Param:
    bad = set(spec) - _DIST_KEYS
    if bad:
        key = sorted(bad)[0]
        raise ConfigError(
            f"{name} in {source}: unknown distribution key {key!r}{did_you_mean(key, _DIST_KEYS)}; "
            "use {choices: [...]}, {int: [low, high]} or {float: [low, high], log: true}."
        )
    kinds = [k for k in ("choices", "int", "float") if k in spec]
    if len(kinds) != 1:
        raise ConfigError(f"{name} in {source} needs exactly one of choices, int or float, but has {kinds or 'none'}.")
    kind = kinds[0]
    if kind == "choices":
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{name}.choices in {source} must be a non-empty list, but got {short_repr(choices)}.")
        return Param(name, "choices", choices=tuple(choices))
    bounds = spec[kind]
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds)):
        raise ConfigError(f"{name}.{kind} in {source} must be [low, high], but got {short_repr(bounds)}.")
    low, high = bounds
    if not low < high:
        raise ConfigError(f"{name}.{kind} in {source} needs low < high, but got [{low}, {high}].")
    if spec.get("log") and low <= 0:
        raise ConfigError(f"{name} in {source} has log: true, so its low bound must be > 0, but got {low}.")
    return Param(name, kind, low=low, high=high, log=bool(spec.get("log", False)), step=spec.get("step"))


def _check_values(space: SearchSpace) -> None:
    """Build a config at every choice and bound, so a bad value fails now, naming its parameter."""
    base = {p.name: p.extremes()[0] for p in space.params}
    try:
        space.config(base)
    except (ConfigError, TypeError, ValueError) as exc:
        raise ConfigError(f"Search space {space.source}: {exc}") from None
    for p in space.params:
        for value in p.extremes():
            try:
                space.config({**base, p.name: value})
            except (ConfigError, TypeError) as exc:
                raise ConfigError(
                    f"Search space {space.source}: {p.name}={short_repr(value)} is not valid: {exc}"
                ) from None
