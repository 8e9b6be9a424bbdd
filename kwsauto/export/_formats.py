"""The one table of what an export writes: each format's files, their names, and the runtime each is run in."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXPORT_FORMATS", "ExportFile", "export_files"]


@dataclass(frozen=True)
class ExportFile:
    """One file an export writes. ``key`` names it in ``card.json``'s ``files``; ``variant`` is the runtime the
    benchmark runs it in (``int8_tflite``: LiteRT), None for sources that are compiled, not run."""

    key: str
    name: str
    variant: str | None = None


# format (``kwsauto export --format``) → the files it writes
EXPORT_FORMATS: dict[str, tuple[ExportFile, ...]] = {
    "tflite": (  # the model, and the C front end, settings header and host example beside it (export/_firmware.py)
        ExportFile("tflite_int8", "model_int8.tflite", "int8_tflite"),
        ExportFile("c_frontend_header", "kws_frontend.h"),
        ExportFile("c_frontend_source", "kws_frontend.c"),
        ExportFile("c_model_settings", "kws_model_settings.h"),
        ExportFile("c_postprocess_header", "kws_postprocess.h"),  # the detection rule (kwsauto stream's), export/_postprocess.py
        ExportFile("c_postprocess_source", "kws_postprocess.c"),
        ExportFile("c_example", "main.c"),
        ExportFile("readme", "README.md"),
    ),
    "c": (ExportFile("c_header", "model_int8.h"), ExportFile("c_source", "model_int8.cc")),
    "onnx": (ExportFile("onnx", "model.onnx", "float_onnx"), ExportFile("onnx_int8", "model_int8.onnx", "int8_onnx")),
}


def export_files(formats: tuple[str, ...] | None = None) -> tuple[ExportFile, ...]:
    """The files of ``formats`` (default: every format), in the table's order."""
    return tuple(f for name, files in EXPORT_FORMATS.items() if formats is None or name in formats for f in files)
