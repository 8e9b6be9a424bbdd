"""A generated ``kws_postprocess.c`` built with the host's C compiler and driven through ctypes, so tests and tools
can run the C rule on score sequences and compare it with :mod:`kwsauto.streaming`'s."""

from __future__ import annotations

import ctypes
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from kwsauto.errors import ConfigError, KwsautoError
from kwsauto.export._frontend_host import _CFLAGS, _run, c_compiler

__all__ = ["CPostprocess"]


class CPostprocess:
    """``folder``'s kws_postprocess.c compiled into a shared library; :meth:`run` gives its reports."""

    def __init__(self, folder: Path, *, build_dir: Path | None = None) -> None:
        folder = Path(folder)
        source = folder / "kws_postprocess.c"
        if not source.is_file() or not (folder / "kws_postprocess.h").is_file():
            raise KwsautoError(f"{folder} has no kws_postprocess.c/.h; export the model again to write them.")
        build_dir = Path(build_dir or tempfile.mkdtemp(prefix="kws-postprocess-"))
        driver = build_dir / "kws_postprocess_driver.c"
        driver.write_text((resources.files("kwsauto.export") / "c" / "kws_postprocess_driver.c").read_text())
        library = build_dir / "libkws_postprocess.so"
        _run([c_compiler(), *_CFLAGS, "-shared", "-fPIC", f"-I{folder}", str(source), str(driver), "-o", str(library)],
             "Building the C post-processing")
        self._lib = ctypes.CDLL(str(library))
        self._lib.kws_pp_driver_labels.restype = ctypes.c_size_t
        pointer = ctypes.c_void_p
        self._lib.kws_pp_driver_run.argtypes = [pointer, ctypes.c_size_t, pointer, pointer, pointer]
        self._lib.kws_pp_driver_run.restype = ctypes.c_long
        self.n_labels = int(self._lib.kws_pp_driver_labels())

    def run(self, scores: np.ndarray) -> list[tuple[int, int, float]]:
        """``(hop, label index, average score)`` of every report for int8 ``scores`` ``[hops, labels]``."""
        scores = np.ascontiguousarray(scores)
        if scores.dtype != np.int8 or scores.ndim != 2 or scores.shape[1] != self.n_labels:
            raise ConfigError(
                f"Need int8 scores [hops, {self.n_labels}], but got {scores.dtype} of shape {scores.shape}."
            )
        n = len(scores)
        hops, labels = np.zeros(max(n, 1), np.int32), np.zeros(max(n, 1), np.int32)
        values = np.zeros(max(n, 1), np.float64)
        count = self._lib.kws_pp_driver_run(scores.ctypes.data, n, hops.ctypes.data, labels.ctypes.data,
                                            values.ctypes.data)
        return [(int(hops[i]), int(labels[i]), float(values[i])) for i in range(count)]
