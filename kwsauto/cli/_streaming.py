"""`kwsauto stream` and `kwsauto calibrate`: keywords in long recordings, and the detection setting for a target
false-activation rate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape


def add_streaming_parsers(sub: Any) -> None:
    st = sub.add_parser("stream", help="keywords in recordings of any length: time, keyword, score (sliding window)")
    st.add_argument("model", type=Path, help="run folder, trial folder, or model_int8.tflite with its card.json")
    st.add_argument("audio", type=Path, nargs="+", help="recordings (any length, any format soundfile reads)")
    st.add_argument("--hop-ms", type=int, help="ms between windows (default: the calibrated setting, else 100)")
    st.add_argument("--average-ms", type=int, help="ms of scores averaged (default: calibrated, else 300)")
    st.add_argument("--threshold", type=float, help="average score that reports a keyword (default: calibrated, else 0.7)")
    st.add_argument("--suppression-ms", type=int, help="ms ignored after a detection (default: calibrated, else 1000)")
    st.add_argument("--json", type=Path, help="also write {detections: [{time_s, label, score}], settings} to this file")

    ca = sub.add_parser("calibrate", help="choose averaging, threshold and suppression for a false-activation target "
                        "on continuous audio built from the dataset; store them in card.json and kws_postprocess.h")
    ca.add_argument("target", type=Path, help="run folder, trial folder, or model_int8.tflite with its card.json")
    add_calibration_options(ca, with_data=True)


def add_calibration_options(parser: argparse.ArgumentParser, *, with_data: bool) -> None:
    """The calibration flags; `kwsauto search --calibrate` shares them (its data is the search's)."""
    if with_data:
        parser.add_argument("--data", type=Path, help="dataset folder (default: the one the model's run used)")
    parser.add_argument("--target-far", type=float, default=1.0,
                        help="false activations per hour allowed on the validation stream (default 1.0)")
    parser.add_argument("--calibration-seed", type=int, default=0, help="seed of the built streams (default 0)")
    parser.add_argument("--max-keywords", type=int,
                        help="keyword clips per stream (default: every keyword clip of the split)")


def cmd_stream(args: argparse.Namespace, console: Console) -> int:
    from kwsauto._io import atomic_write_json
    from kwsauto._streaming_api import stream
    from kwsauto.report import detections_table

    results = stream(args.model, args.audio, hop_ms=args.hop_ms, average_ms=args.average_ms,
                     threshold=args.threshold, suppression_ms=args.suppression_ms)
    for result in results:
        console.print(detections_table(result))
    if args.json:
        several = len(results) > 1
        payload = {
            "detections": [
                {"time_s": d.time_s, "label": d.label, "score": round(d.score, 6),
                 **({"file": str(r.path)} if several else {})}
                for r in results for d in r.detections
            ],
            "settings": {**_settings(results[0].settings), "source": results[0].source},
            "real_time_factor": round(sum(r.seconds for r in results) / max(sum(r.audio_s for r in results), 1e-9), 5),
            "audio_s": round(sum(r.audio_s for r in results), 3),
        }
        atomic_write_json(args.json, payload)
        console.print(f"Wrote {escape(str(args.json))}")
    return 0


def _settings(settings: Any) -> dict[str, Any]:
    return {"hop_ms": settings.hop_ms, "average_ms": settings.average_ms, "threshold": settings.threshold,
            "suppression_ms": settings.suppression_ms}


def run_calibration(target: Path, args: argparse.Namespace, console: Console, data: Path | None = None) -> int:
    from kwsauto._streaming_api import calibrate
    from kwsauto.report import calibration_table, chosen_table

    with console.status("Calibrating: building the validation and test streams, scoring them once, sweeping"):
        calibration = calibrate(target, data=data, target_far=args.target_far, seed=args.calibration_seed,
                                max_keywords=args.max_keywords)
    console.print(calibration_table(calibration.result))
    console.print(chosen_table(calibration))
    console.print(f"[dim]streams: validation {calibration.val_stream_s / 60:.1f} min, test "
                  f"{calibration.test_stream_s / 60:.1f} min · scoring real-time factor "
                  f"{calibration.result.real_time_factor:.3f}[/]")
    console.print("Wrote " + ", ".join(escape(str(p)) for p in calibration.files))
    return 0


def cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    return run_calibration(args.target, args, console, data=args.data)
