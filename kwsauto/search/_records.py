"""What a run writes and reads back, typed: ``run.json`` (:class:`RunSettings`), ``card.json`` (:class:`ModelCard`)
and a trial's attributes in the study (:class:`TrialRecord`).

All of them go through :mod:`kwsauto._serial`, so a record written by this version reads back equal, an unknown
field is a one-line error naming the file, and a card of another schema version is refused with its version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from kwsauto._io import read_json
from kwsauto._serial import from_dict, to_dict
from kwsauto.data import DatasetOptions
from kwsauto.device import Budget, Footprint
from kwsauto.errors import ConfigError, KwsautoError
from kwsauto.export import DetectionSettings
from kwsauto.features import FeatureConfig
from kwsauto.training import TrialConfig

__all__ = [
    "CARD_SCHEMA",
    "CardCandidate",
    "CardData",
    "CardFootprint",
    "CardMetrics",
    "CardSelection",
    "CardStreamScore",
    "CardStreaming",
    "CardVerification",
    "HardwareRecord",
    "ModelCard",
    "RunSettings",
    "TrialRecord",
]

CARD_SCHEMA = 1  # card.json's "kwsauto_card": raise it when a field changes meaning or disappears


def _read(cls: Any, path: Path, what: str) -> Any:
    raw = read_json(path, what)
    try:
        return cls.from_dict(raw)
    except KwsautoError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except TypeError as exc:  # a required field missing: the file was cut or edited by hand
        missing = str(exc).split("argument", 1)[-1].lstrip("s: ")
        raise ConfigError(f"{path} is not a complete {what} (missing {missing}); restore it, or run again.") from None


@dataclass(frozen=True)
class HardwareRecord:
    """Where training ran: ``accelerator`` (``cuda``, ``mps``, ``cpu``), ``device`` (``cuda:1``), its name, precision.

    The fields of :meth:`kwsauto.training.Hardware.to_dict`, as a trial's ``hardware`` attribute holds them.
    """

    accelerator: str
    device: str
    name: str
    precision: str


@dataclass(frozen=True)
class RunSettings:
    """Every setting of a search, as ``run.json`` records it: enough to resume or reproduce it.

    ``labels`` and ``split_source`` describe the dataset as the search found it. Settings older runs did not
    record read back as the values those runs used (median pruner, one worker, no time limit, no hooks).
    """

    data: str
    study: str
    budget: Budget
    device: str
    space: str
    demo: bool = False
    seed: int = 0
    sampler: str = "tpe"
    pruner: str = "median"
    objective: str = "accuracy"
    metric: str = "accuracy"
    n_trials: int | None = None
    time_limit_s: float | None = None
    workers: int = 1
    expert: str | None = None
    pretrained: str | None = None
    storage: str | None = None  # its password redacted
    dataset: DatasetOptions = field(default_factory=DatasetOptions)
    labels: tuple[str, ...] = ()
    split_source: str | None = None
    accelerator: str = "auto"  # as asked (--accelerator, --precision); each trial records where it ran
    precision: str = "32"
    hardware: HardwareRecord | None = None  # what the main process resolved them to
    reselect: int = 3  # the top trials retrained with new seeds before the final choice
    reselect_seeds: int = 2
    refit: bool = True  # the chosen configuration trained again on train+val

    # which settings must match to resume a study: the others may change between sessions
    RESUME_KEYS = ("data", "budget", "device", "space", "dataset", "objective", "metric")

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunSettings:
        return from_dict(cls, values, "run.json setting")

    @classmethod
    def read(cls, path: Path) -> RunSettings:
        return _read(cls, path, "run.json")


@dataclass(frozen=True)
class CardMetrics:
    """The chosen model on the validation and test splits, float and (where exported) int8."""

    val_accuracy: float
    test_accuracy: float
    test_macro_f1: float
    test_per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    test_confusion: list[list[int]] = field(default_factory=list)
    test_accuracy_int8: float | None = None
    test_macro_f1_int8: float | None = None
    test_accuracy_tflite: float | None = None
    agreement_tflite_onnx_int8: float | None = None
    agreement_tflite_float: float | None = None


@dataclass(frozen=True)
class CardFootprint(Footprint):
    """The estimated footprint on the run's device, and the arena TFLite Micro measured for the .tflite."""

    tflm_arena_bytes: int | None = None


@dataclass(frozen=True)
class CardVerification:
    """The .tflite run in TFLite Micro and LiteRT, against float and ONNX int8.

    ``tflm_vs_litert_max_lsb`` is the largest difference, in int8 output steps, between TFLM's and LiteRT's
    (reference kernels) outputs over all ``tflm_vs_litert_clips`` calibration clips.
    """

    tflm_arena_bytes: int
    tflm_min_arena_bytes: int
    estimated_host_arena_bytes: int
    tflm_runtime: str
    tflm_vs_litert_max_lsb: int
    tflm_vs_litert_clips: int
    agreement_tflite_float: float
    tflite_bytes: int
    agreement_tflite_onnx_int8: float | None = None


@dataclass(frozen=True)
class CardFrontend:
    """The C front end written beside the model: the arena ``kws_model_settings.h`` allocates, and the DSP RAM as
    the compiler laid out ``kws_frontend_t`` (``state_bytes``) and its writable static data, when a compiler ran."""

    arena_bytes_allocated: int
    dsp_ram_source: str
    state_bytes: int | None = None
    static_bytes: int | None = None
    compiler: str | None = None


@dataclass(frozen=True)
class CardStreamScore:
    """The calibrated setting on one continuous stream: counts, the stream's hours, FAR/h, FRR, wrong-keyword rate."""

    keywords: int
    hits: int
    substitutions: int
    false_activations: int
    hours: float
    far_per_hour: float
    frr: float
    wrong_keyword_rate: float


@dataclass(frozen=True)
class CardStreaming:
    """``kwsauto calibrate``'s result: the detection setting chosen on the validation stream for
    ``target_far_per_hour``, and how it did there and on the test stream (built with ``seed``)."""

    settings: DetectionSettings
    target_far_per_hour: float
    validation: CardStreamScore
    test: CardStreamScore
    seed: int
    calibrated: str  # when, ISO 8601 UTC


@dataclass(frozen=True)
class CardData:
    """The dataset the model was trained and tested on."""

    root: str
    demo: bool
    split_source: str | None
    clips: dict[str, int]
    speakers: dict[str, int]
    speaker_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)  # who went to each split
    lowest_rate_hz: int | None = None  # the lowest sample rate among the spoken clips
    warnings: tuple[str, ...] = ()  # few speakers in validation or test, audio below the model's rate


@dataclass(frozen=True)
class CardCandidate:
    """One of the top trials by validation, retrained with new seeds: its scores, the search's own run first."""

    trial: int
    scores: tuple[float, ...]
    mean: float
    std: float


@dataclass(frozen=True)
class CardSelection:
    """How the exported model was chosen and what validation predicts for it.

    The top trials by validation were retrained with new seeds and the best mean won (``candidates``). The
    validation estimate is the chosen configuration's mean over its retrained runs only (``val_runs`` of them; the
    search's own run is left out, since it was picked as a maximum), ± their standard deviation. ``refit``: the
    exported weights were then trained on train+validation for ``refit_epochs`` epochs.
    """

    chosen: int
    candidates: tuple[CardCandidate, ...]
    val_estimate: float
    val_spread: float
    val_runs: int
    refit: bool
    refit_epochs: int | None
    seconds: float
    note: str = ""  # what was skipped for want of time


@dataclass(frozen=True)
class ModelCard:
    """``card.json``: what a chosen model is, what it scored, what it costs, and the files written for it."""

    created: str
    trial: int
    model: str
    labels: tuple[str, ...]
    features: FeatureConfig
    input_shape: tuple[int, ...]
    config: TrialConfig
    metrics: CardMetrics
    footprint: CardFootprint
    budget: Budget
    limits: dict[str, float]
    data: CardData
    files: dict[str, str]
    verification: CardVerification | None = None
    frontend: CardFrontend | None = None
    hardware: HardwareRecord | None = None  # where the chosen trial trained
    selection: CardSelection | None = None  # re-selection over seeds and the refit, when the search ran them
    streaming: CardStreaming | None = None  # written by kwsauto calibrate
    schema: int = CARD_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        raw = to_dict(self)
        raw["verification"] = raw["verification"] or {}
        if raw["frontend"] is None:  # written only when the export wrote the C front end
            del raw["frontend"]
        else:  # only what was measured
            raw["frontend"] = {k: v for k, v in raw["frontend"].items() if v is not None}
        for key, unset in (("speaker_ids", {}), ("lowest_rate_hz", None), ("warnings", [])):
            if raw["data"][key] == unset:  # a card from before the data checks writes back as it was read
                del raw["data"][key]
        for optional in ("hardware", "selection", "streaming"):  # written only when recorded (calibrated)
            if raw[optional] is None:
                del raw[optional]
        return {"kwsauto_card": raw.pop("schema"), **raw}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelCard:
        values = dict(values)
        schema = values.pop("kwsauto_card", None)
        if schema != CARD_SCHEMA:
            raise ConfigError(
                f"card schema {schema!r} is not the schema {CARD_SCHEMA} this kwsauto reads; "
                "export the model again with this version (kwsauto export RUN_DIR)."
            )
        if not values.get("verification"):
            values["verification"] = None
        return from_dict(cls, {**values, "schema": schema}, "card field")

    @classmethod
    def read(cls, path: Path) -> ModelCard:
        return _read(cls, path, "card.json")


@dataclass(frozen=True)
class TrialRecord:
    """A typed view of one trial in the study: its state, config, footprint and results.

    ``state`` is the leaderboard's: ``complete``, ``infeasible`` (rejected before training), ``pruned``, ``cut``
    (stopped by the time limit), ``failed``, ``running``, ``waiting``.
    """

    number: int
    state: str
    params: dict[str, Any]
    values: tuple[float, ...] = ()
    config: TrialConfig | None = None
    footprint: dict[str, Any] = field(default_factory=dict)
    feasible: bool | None = None
    failed_limit: str | None = None
    violations: tuple[str, ...] = ()
    val_accuracy: float | None = None
    last_val_accuracy: float | None = None
    test_accuracy: float | None = None
    seconds: float | None = None
    epochs_run: int | None = None
    error: str | None = None
    hardware: HardwareRecord | None = None  # where it trained (None: never trained)

    @property
    def trained(self) -> bool:
        """Completed and within the budget: its weights exist (in the run folder or the study's storage)."""
        return self.state == "complete" and bool(self.feasible)

    @classmethod
    def of(cls, trial: FrozenTrial) -> TrialRecord:
        attrs = trial.user_attrs
        feasible = attrs.get("feasible")
        state = trial.state.name.lower()
        if trial.state == TrialState.COMPLETE and feasible is False:
            state = "infeasible"
        elif trial.state == TrialState.FAIL and not attrs.get("error"):
            state = "failed"
        elif trial.state == TrialState.PRUNED and attrs.get("cut"):
            state = "cut"  # stopped by the time limit before it finished: never chosen, never listed as complete
        return cls(
            number=trial.number,
            state=state,
            params=dict(trial.params),
            values=tuple(trial.values or ()),
            config=TrialConfig.from_dict(attrs["config"]) if attrs.get("config") else None,
            footprint=dict(attrs.get("footprint") or {}),
            feasible=feasible,
            failed_limit=attrs.get("failed_limit"),
            violations=tuple(attrs.get("violations") or ()),
            val_accuracy=attrs.get("val_accuracy"),
            last_val_accuracy=attrs.get("last_val_accuracy"),
            test_accuracy=attrs.get("test_accuracy"),
            seconds=attrs.get("seconds"),
            epochs_run=attrs.get("epochs_run", attrs.get("last_epoch")),
            error=attrs.get("error"),
            hardware=from_dict(HardwareRecord, attrs["hardware"], "trial hardware field") if attrs.get("hardware") else None,
        )
