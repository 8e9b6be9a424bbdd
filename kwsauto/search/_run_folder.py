"""The run folder: its layout, and the ``card.json`` schema, written in one place and read in one place.

::

    runs/<study>/
      run.json             settings of the search (data, budget, device, space, seed)
      study.journal        the Optuna study (JournalStorage): the same command again resumes it
      trials/<n>/          each finished trial's weights (model.pt) and config (config.json)
      leaderboard.csv/json every trial
      best/                model.onnx, model_int8.onnx, card.json
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import pickle
import shutil
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kwsauto._io import atomic_write, atomic_write_json, atomic_write_text
from kwsauto.errors import OutputError
from kwsauto.search._records import ModelCard, RunSettings

__all__ = ["RunFolder", "LEADERBOARD_COLUMNS", "WEIGHTS_ATTR"]

WEIGHTS_ATTR = "kwsauto:weights"

LEADERBOARD_COLUMNS = (
    "number",
    "state",
    "model",
    "val_accuracy",
    "test_accuracy",
    "feasible",
    "failed_limit",
    "ram_bytes",
    "flash_bytes",
    "latency_ms",
    "macs",
    "params_count",
    "seconds",
    "epochs_run",
    "device",
    "error",
    "params",
)


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def storage_path(self) -> Path:
        return self.path / "study.journal"

    @property
    def best_dir(self) -> Path:
        return self.path / "best"

    def trial_dir(self, number: int) -> Path:
        return self.path / "trials" / f"{number:04d}"

    def prepare(self, min_free_bytes: int = 64 * 1024**2) -> RunFolder:
        """Create the folder and prove it is writable, with room to spare, before any training."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-test-{os.getpid()}"
            probe.write_bytes(b"\0" * 4096)
            probe.unlink()
        except OSError as exc:
            raise OutputError(
                f"Cannot write to output folder {self.path}: {exc.strerror or exc}. Choose another (`out`)."
            ) from exc
        free = shutil.disk_usage(self.path).free
        if free < min_free_bytes:
            raise OutputError(
                f"Output folder {self.path} has only {free // 1024**2} MB free; a search needs at least "
                f"{min_free_bytes // 1024**2} MB. Free some space or choose another folder (`out`)."
            )
        return self

    # settings --------------------------------------------------------------------------------------------------
    @property
    def settings_path(self) -> Path:
        return self.path / "run.json"

    def write_settings(self, settings: RunSettings) -> None:
        atomic_write_json(self.settings_path, settings.to_dict())

    def read_settings(self) -> RunSettings:
        if not self.settings_path.is_file():
            raise OutputError(f"{self.path} is not a kwsauto run folder (no run.json); give the folder a search wrote.")
        return RunSettings.read(self.settings_path)

    # trials ----------------------------------------------------------------------------------------------------
    def save_trial(self, number: int, model: torch.nn.Module, config: dict[str, Any]) -> None:
        folder = self.trial_dir(number)
        atomic_write(folder / "model.pt", lambda tmp: torch.save(model.state_dict(), tmp))
        atomic_write_json(folder / "config.json", config)

    def save_refit(self, number: int, state: dict[str, torch.Tensor]) -> None:
        """The weights of trial ``number``'s configuration trained again on train+val (what ``best/`` exports);
        an earlier choice's refit weights go, so only the chosen trial has them."""
        atomic_write(self.trial_dir(number) / "refit.pt", lambda tmp: torch.save(state, tmp))
        for old in (self.path / "trials").glob("*/refit.pt"):
            if old.parent != self.trial_dir(number):
                old.unlink(missing_ok=True)

    def load_export_state(self, number: int, trial: Any = None) -> dict[str, torch.Tensor]:
        """The weights an export of trial ``number`` holds: its refit on train+val when the search chose and refit
        it, else its own."""
        if (self.trial_dir(number) / "refit.pt").is_file():
            return self.load_refit_state(number)
        return self.load_trial_state(number, trial)

    def load_refit_state(self, number: int) -> dict[str, torch.Tensor]:
        path = self.trial_dir(number) / "refit.pt"
        if not path.is_file():
            raise OutputError(f"Trial {number} has no refit weights ({path}); export it with `trial` {number} for "
                              "its own weights, or run the search again to refit it.")
        return torch.load(path, weights_only=True)

    def load_trial_state(self, number: int, trial: Any = None) -> dict[str, torch.Tensor]:
        """The trial's weights from this run folder, or from the study storage (a trial of another machine)."""
        path = self.trial_dir(number) / "model.pt"
        if path.is_file():
            try:
                return torch.load(path, weights_only=True)  # weights only: a pickle in the file never runs
            except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
                reason = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else type(exc).__name__
                raise OutputError(
                    f"{path} holds no readable trial weights ({reason}); restore it, or train the trial again."
                ) from None
        encoded = getattr(trial, "system_attrs", {}).get(WEIGHTS_ATTR) if trial is not None else None
        if encoded:
            raw = zlib.decompress(base64.b64decode(encoded))
            return torch.load(io.BytesIO(raw), weights_only=True)
        raise OutputError(f"Trial {number} has no saved weights in {path.parent}; it did not finish here.")

    @staticmethod
    def store_weights_in(trial: Any, model: torch.nn.Module) -> None:
        """Put the weights in the study's storage too, so any machine sharing it can export the trial."""
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        encoded = base64.b64encode(zlib.compress(buffer.getvalue())).decode("ascii")
        trial.study._storage.set_trial_system_attr(trial._trial_id, WEIGHTS_ATTR, encoded)

    # results ---------------------------------------------------------------------------------------------------
    def write_leaderboard(self, rows: list[dict[str, Any]]) -> None:
        atomic_write_json(self.path / "leaderboard.json", rows)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=LEADERBOARD_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "params": json.dumps(row.get("params", {}), sort_keys=True)})
        atomic_write_text(self.path / "leaderboard.csv", buffer.getvalue())

    def write_card(self, card: ModelCard, path: Path | None = None) -> None:
        atomic_write_json(path or self.best_dir / "card.json", card.to_dict())

    def read_card(self, folder: Path | None = None) -> ModelCard | None:
        """The card in ``folder`` (default ``best/``), or None when none was written there."""
        path = (folder or self.best_dir) / "card.json"
        return ModelCard.read(path) if path.is_file() else None
