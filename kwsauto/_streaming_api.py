"""The streaming half of the Python API: ``stream`` (detections in recordings) and ``calibrate`` (choose the
detection setting for a false-activation target and store it with the model).

Both resolve a model as every other command does (:func:`kwsauto.evaluate.resolve_target`: a run folder, a trial
folder, or a .tflite with its card) and run its int8 .tflite in LiteRT.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kwsauto._io import atomic_write_json, atomic_write_text
from kwsauto.data import ClipIndex, DatasetOptions, load_dataset
from kwsauto.errors import ConfigError, DataError
from kwsauto.export import DEFAULT_DETECTION, DetectionSettings, postprocess_sources
from kwsauto.search import ModelCard
from kwsauto.search._records import CardStreaming, CardStreamScore
from kwsauto.streaming import (
    CalibrationResult,
    ContinuousStream,
    Detection,
    SlidingScorer,
    StreamRecipe,
    StreamScore,
    build_stream,
    check_keywords,
    choose_setting,
    detect,
    score_detections,
    sweep,
)

__all__ = [
    "CALIBRATION_PLOT",
    "Calibration",
    "StreamResult",
    "calibrate",
    "default_noise_files",
    "stream",
    "stream_settings",
]

_LOGGER = logging.getLogger(__name__)
CALIBRATION_PLOT = "calibration.png"
SHARED_NOISE = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech-commands-noise"


@dataclass(frozen=True)
class StreamResult:
    """The detections in one recording, the setting used and where it came from, and the real-time factor."""

    path: Path
    detections: tuple[Detection, ...]
    settings: DetectionSettings
    source: str  # "card" (calibrated), "default", with "+ options" when some were given
    audio_s: float
    seconds: float

    @property
    def real_time_factor(self) -> float:
        return self.seconds / self.audio_s if self.audio_s > 0 else 0.0


@dataclass(frozen=True)
class Calibration:
    """A calibration and what it wrote: the card (None for a model without one), the C header, the plot."""

    result: CalibrationResult
    model: Path
    card: ModelCard | None
    files: tuple[Path, ...]
    val_stream_s: float
    test_stream_s: float


def _model(target_path: str | Path):
    from kwsauto.evaluate import resolve_target

    target = resolve_target(target_path)
    tflite = target.files.get("int8_tflite")
    if tflite is None:
        raise ConfigError(
            f"{target_path} has no int8 .tflite model to stream with; export it with the tflite format "
            "(kwsauto export RUN_DIR)."
        )
    check_keywords(target.labels, target_path)
    if target.features is None:
        raise ConfigError(f"{target_path} carries no feature parameters; export it with kwsauto.")
    return target, tflite


def stream_settings(
    card: ModelCard | None, *, hop_ms: int | None = None, average_ms: int | None = None,
    threshold: float | None = None, suppression_ms: int | None = None,
) -> tuple[DetectionSettings, str]:
    """The card's calibrated setting (else the defaults), with the given values replacing its fields."""
    base, source = DEFAULT_DETECTION, "default"
    if card is not None and card.streaming is not None:
        base, source = card.streaming.settings, "card"
    given = {k: v for k, v in {"hop_ms": hop_ms, "average_ms": average_ms, "threshold": threshold,
                               "suppression_ms": suppression_ms}.items() if v is not None}
    if not given:
        return base, source
    return dataclasses.replace(base, **given), f"{source} + options"


def stream(
    model: str | Path, files: Sequence[str | Path], *, hop_ms: int | None = None, average_ms: int | None = None,
    threshold: float | None = None, suppression_ms: int | None = None,
) -> list[StreamResult]:
    """Detections in each recording of ``files`` by ``model``; the setting is the calibrated one, else the
    defaults, with each given value replacing its field."""
    target, tflite = _model(model)
    settings, source = stream_settings(target.card, hop_ms=hop_ms, average_ms=average_ms, threshold=threshold,
                                       suppression_ms=suppression_ms)
    for path in files:
        if not Path(path).is_file():
            raise DataError(f"Audio file {path} does not exist.")
    scorer = SlidingScorer(tflite, target.labels, target.features, settings.hop_ms)
    out = []
    for path in files:
        track = scorer.score_file(Path(path))
        detections = detect(track.scores, track.labels, settings, output_scale=track.output_scale,
                            output_zero_point=track.output_zero_point, window_s=track.window_s)
        out.append(StreamResult(Path(path), tuple(detections), settings, source, track.audio_s, track.seconds))
    return out


def _card_score(score: StreamScore) -> CardStreamScore:
    return CardStreamScore(
        keywords=score.keywords, hits=score.hits, substitutions=score.substitutions,
        false_activations=score.false_activations, hours=round(score.hours, 4),
        far_per_hour=round(score.far_per_hour, 3), frr=round(score.frr, 4),
        wrong_keyword_rate=round(score.wrong_keyword_rate, 4),
    )


def calibrate(
    model: str | Path,
    *,
    data: str | Path | None = None,
    target_far: float = 1.0,
    seed: int = 0,
    hop_ms: int = 100,
    max_keywords: int | None = None,
    noise: Sequence[Path] | None = None,
    dataset: DatasetOptions | None = None,
) -> Calibration:
    """Build a validation and a test stream from the dataset, choose the setting with the lowest validation FRR
    at FAR/h <= ``target_far``, and store it: card.json's ``streaming`` section, ``kws_postprocess.h`` and
    ``calibration.png`` beside the model. Nothing is written when no setting meets the target.

    ``data``/``dataset``: the dataset and its options (default: those of the model's run). ``noise``: background
    recordings (default: the dataset's, plus ``../shared/data/speech-commands-noise`` where it exists).
    ``max_keywords`` caps the keyword clips per stream (shorter streams).
    """
    if not (target_far >= 0):
        raise ConfigError(f"`target_far` must be a number of false activations per hour >= 0, but got {target_far}.")
    target, tflite = _model(model)
    root = data or (target.settings.data if target.settings else None) or (target.card.data.root if target.card else None)
    if root is None:
        raise ConfigError(f"{model} names no dataset (no run.json or card.json); give one as `data`.")
    options = dataset or (target.settings.dataset if target.settings is not None else DatasetOptions())
    index = load_dataset(root, options)
    keywords = [label for label, fire in zip(target.labels, check_keywords(target.labels, model)) if fire]
    missing = [k for k in keywords if k not in index.labels]
    if missing:
        raise ConfigError(
            f"The dataset {root} has no clips of the model's keywords {missing}; give the dataset the model was "
            "trained on with --data (and its --keywords)."
        )
    noise_files = list(noise) if noise is not None else default_noise_files(index)
    scorer = SlidingScorer(tflite, target.labels, target.features, hop_ms)
    recipe = StreamRecipe(seed=seed, max_keywords=max_keywords)
    rate = target.features.sample_rate_hz
    val = build_stream(index, "val", keywords, rate, recipe, noise_files)
    val_track = scorer.score_blocks(val.blocks(), audio_s=val.seconds, name="the validation stream")
    rows = sweep(val_track, val)
    chosen = choose_setting(rows, target_far)  # raises, naming the closest, before anything is written
    test = build_stream(index, "test", keywords, rate, recipe, noise_files)
    test_score = _score(scorer, test, chosen.settings)
    result = CalibrationResult(chosen.settings, target_far, chosen.score, test_score, tuple(rows), seed,
                               val_track.real_time_factor)
    files = _write(tflite, target.card, result, scorer)
    card = ModelCard.read(tflite.parent / "card.json") if target.card is not None else None
    return Calibration(result, tflite, card, files, val.seconds, test.seconds)


def default_noise_files(index: ClipIndex) -> list[Path]:
    """The background recordings calibration mixes in: the dataset's, and ../shared/data/speech-commands-noise."""
    shared = sorted(p for p in SHARED_NOISE.iterdir() if p.suffix in (".wav", ".flac")) if SHARED_NOISE.is_dir() else []
    return list(index.noise_files) + shared


def _score(scorer: SlidingScorer, stream_: ContinuousStream, settings: DetectionSettings) -> StreamScore:
    track = scorer.score_blocks(stream_.blocks(), audio_s=stream_.seconds, name=f"the {stream_.split} stream")
    detections = detect(track.scores, track.labels, settings, output_scale=track.output_scale,
                        output_zero_point=track.output_zero_point, window_s=track.window_s)
    return score_detections(detections, stream_.events, stream_.hours)


def _write(tflite: Path, card: ModelCard | None, result: CalibrationResult, scorer: SlidingScorer) -> tuple[Path, ...]:
    """Every text generated first, then each file written atomically: the header, the plot, the card last."""
    from kwsauto.report import plot_calibration

    folder = tflite.parent
    sources = postprocess_sources(scorer.labels, scorer.out_scale, scorer.out_zero, result.settings)
    new_card = None
    if card is not None:
        streaming = CardStreaming(
            settings=result.settings, target_far_per_hour=result.target_far_per_hour,
            validation=_card_score(result.validation), test=_card_score(result.test), seed=result.seed,
            calibrated=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        )
        files = dict(card.files)
        files.update({"c_postprocess_header": "kws_postprocess.h", "c_postprocess_source": "kws_postprocess.c",
                      "calibration_plot": CALIBRATION_PLOT})
        new_card = dataclasses.replace(card, streaming=streaming, files=files)
    written = []
    for name, text in sources.items():
        atomic_write_text(folder / name, text)
        written.append(folder / name)
    written.append(plot_calibration(result, folder / CALIBRATION_PLOT))
    if new_card is not None:
        atomic_write_json(folder / "card.json", new_card.to_dict())
        written.append(folder / "card.json")
    else:
        _LOGGER.warning("No card.json beside %s: the setting is in kws_postprocess.h only.", tflite)
    return tuple(written)
