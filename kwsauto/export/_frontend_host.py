"""A generated C front end built with the host's C compiler: driven through ctypes, its RAM read from the build.

Tests and tools drive any export's ``kws_frontend.c`` the same way: :class:`CFrontend` compiles it with
``cc -O2 -shared -fPIC`` (plus a small driver that loops over clips and chunks in C) and returns int8 input
tensors. :func:`frontend_ram` compiles it to an object file and reads, from what the compiler laid out,
``sizeof(kws_frontend_t)`` and the writable static data (``.data``/``.bss``): the DSP RAM a card counts. The
state holds no pointers (int16, int8, float and uint32 arrays), so its layout is the same on a 32-bit Cortex-M.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from kwsauto.errors import ConfigError, KwsautoError

__all__ = ["CFrontend", "FrontendRam", "c_compiler", "frontend_ram"]

_CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror")
_WRITABLE = re.compile(r"^\.(data|bss|sdata|sbss)(\.|$)")


def c_compiler() -> str:
    """``$CC``, else ``cc``, found on the PATH."""
    name = os.environ.get("CC", "cc")
    path = shutil.which(name)
    if path is None:
        raise KwsautoError(
            f"Building the C front end needs a C compiler, but {name!r} is not on the PATH; install one "
            "(e.g. `apt install gcc`) or set CC."
        )
    return path


def _run(command: list[str], what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise KwsautoError(f"{what} failed: {detail[0] if detail else 'no output'} ({' '.join(command)}).")
    return result.stdout


def _sources(folder: Path) -> Path:
    source = Path(folder) / "kws_frontend.c"
    if not source.is_file() or not (Path(folder) / "kws_frontend.h").is_file():
        raise KwsautoError(f"{folder} has no kws_frontend.c/.h; export the model again to write them.")
    return source


@dataclass(frozen=True)
class FrontendRam:
    """RAM of a compiled front end: the caller's ``kws_frontend_t`` and the file's writable static data."""

    state_bytes: int
    static_bytes: int
    compiler: str

    @property
    def total_bytes(self) -> int:
        return self.state_bytes + self.static_bytes


def frontend_ram(folder: Path) -> FrontendRam:
    """Compile ``folder/kws_frontend.c`` and read its RAM from the object file and ``sizeof``."""
    source = _sources(folder)
    cc = c_compiler()
    with tempfile.TemporaryDirectory(prefix="kws-frontend-") as tmp:
        obj = Path(tmp) / "kws_frontend.o"
        _run([cc, *_CFLAGS, "-c", str(source), "-o", str(obj)], "Compiling the C front end")
        sections = _run(["size", "-A", str(obj)], "Reading the front end's sections")
        static = sum(
            int(parts[1])
            for parts in (line.split() for line in sections.splitlines())
            if len(parts) >= 2 and _WRITABLE.match(parts[0]) and parts[1].isdigit()
        )
        state = CFrontend(folder, build_dir=Path(tmp)).state_bytes
    version = _run([cc, "--version"], "Asking the compiler's version").splitlines()[0]
    return FrontendRam(state_bytes=state, static_bytes=static, compiler=f"{version} -O2")


class CFrontend:
    """``folder``'s kws_frontend.c compiled into a shared library, driven through ctypes.

    ``defines`` and ``include_dirs`` reach the compiler, e.g. ``KWS_USE_CMSIS_DSP`` and where ``arm_math.h`` is.
    """

    def __init__(
        self,
        folder: Path,
        *,
        build_dir: Path | None = None,
        defines: tuple[str, ...] = (),
        include_dirs: tuple[Path, ...] = (),
    ) -> None:
        source = _sources(folder)
        build_dir = Path(build_dir or tempfile.mkdtemp(prefix="kws-frontend-"))
        driver = build_dir / "kws_frontend_driver.c"
        driver.write_text((resources.files("kwsauto.export") / "c" / "kws_frontend_driver.c").read_text())
        library = build_dir / "libkws_frontend.so"
        _run(
            [c_compiler(), *_CFLAGS, "-shared", "-fPIC", *(f"-D{d}" for d in defines), f"-I{Path(folder)}",
             *(f"-I{d}" for d in include_dirs),
             str(source), str(driver), "-o", str(library), "-lm"],
            "Building the C front end",
        )
        self._lib = ctypes.CDLL(str(library))
        size_t, pointer = ctypes.c_size_t, ctypes.c_void_p
        for name in ("kws_driver_state_bytes", "kws_driver_input_size", "kws_driver_sample_rate"):
            getattr(self._lib, name).restype = size_t
        self._lib.kws_driver_clips.argtypes = [pointer, size_t, size_t, size_t, pointer]
        self._lib.kws_driver_clips.restype = ctypes.c_long
        self._lib.kws_driver_stream.argtypes = [pointer, size_t, size_t, pointer, size_t]
        self._lib.kws_driver_stream.restype = ctypes.c_long
        self.state_bytes = int(self._lib.kws_driver_state_bytes())
        self.input_size = int(self._lib.kws_driver_input_size())
        self.sample_rate_hz = int(self._lib.kws_driver_sample_rate())

    def _pcm(self, pcm: np.ndarray, sample_rate_hz: int) -> np.ndarray:
        if sample_rate_hz != self.sample_rate_hz:
            raise ConfigError(
                f"The front end takes audio at {self.sample_rate_hz} Hz, the model's rate, but got {sample_rate_hz} Hz; "
                "resample the audio first."
            )
        pcm = np.asarray(pcm)
        if pcm.dtype != np.int16:
            raise ConfigError(f"The front end takes 16-bit PCM (int16), but got {pcm.dtype}; convert the audio.")
        return np.ascontiguousarray(pcm)

    def clips(self, pcm: np.ndarray, *, chunk: int = 16000, sample_rate_hz: int) -> np.ndarray:
        """Int8 inputs ``[n, frames * coeffs]`` of clips ``[n, samples]``, each pushed in ``chunk``-sample pieces."""
        pcm = self._pcm(pcm, sample_rate_hz)
        if pcm.ndim != 2 or chunk < 1:
            raise ConfigError(f"Need clips [n, samples] and chunk >= 1, but got shape {pcm.shape}, chunk={chunk}.")
        out = np.zeros((pcm.shape[0], self.input_size), dtype=np.int8)
        status = self._lib.kws_driver_clips(pcm.ctypes.data, pcm.shape[0], pcm.shape[1], chunk, out.ctypes.data)
        if status < 0:
            raise ConfigError(f"Clip {-1 - status} has {pcm.shape[1]} samples, fewer than one window; pad it.")
        return out

    def stream(self, pcm: np.ndarray, *, chunk: int, sample_rate_hz: int) -> np.ndarray:
        """Push one recording in ``chunk``-sample pieces; the input after each piece that completes a window."""
        pcm = self._pcm(pcm, sample_rate_hz).reshape(-1)
        max_windows = len(pcm) // chunk + 1
        out = np.zeros((max_windows, self.input_size), dtype=np.int8)
        written = self._lib.kws_driver_stream(pcm.ctypes.data, len(pcm), chunk, out.ctypes.data, max_windows)
        return out[:written]
