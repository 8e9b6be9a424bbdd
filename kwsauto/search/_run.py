"""One finished (or running) search, opened once: its settings, study, trials, chosen model's card and exports.

Every reader of a run (the Python API, the CLI, the reports, the benchmark) opens it through :class:`Run`, so
picking a trial, and the errors for a run without one, are written here only.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from kwsauto.errors import ConfigError, KwsautoError
from kwsauto.export import export_files
from kwsauto.search._leaderboard import best_feasible, leaderboard_rows, sort_rows, with_test_accuracy
from kwsauto.search._records import ModelCard, RunSettings, TrialRecord
from kwsauto.search._run_folder import RunFolder
from kwsauto.search._study import open_study

__all__ = ["Run"]


class Run:
    """A run folder and its study (in the folder's journal, or at the shared ``storage`` URL)."""

    def __init__(self, folder: RunFolder, settings: RunSettings, storage: str | None = None) -> None:
        self.folder = folder
        self.settings = settings
        self.storage = storage

    @classmethod
    def open(cls, path: str | Path | RunFolder, storage: str | None = None) -> Run:
        """The run at ``path`` (a folder with ``run.json``); ``storage``: its study's database URL, if shared."""
        folder = path if isinstance(path, RunFolder) else RunFolder(Path(path))
        return cls(folder, folder.read_settings(), storage)

    @property
    def path(self) -> Path:
        return self.folder.path

    @cached_property
    def study(self) -> optuna.Study:
        """The run's study: its journal, or the shared storage; never a new, empty study."""
        if self.storage is None and not self.folder.storage_path.is_file():
            where = (
                f" (its study is in {self.settings.storage}: pass that URL as `storage`)"
                if self.settings.storage
                else ""
            )
            raise ConfigError(
                f"{self.path} has no study.journal{where}; give a run folder whose search kept its journal."
            )
        try:
            return open_study(self.folder, self.settings.study, storage=self.storage)
        except KeyError:
            raise ConfigError(
                f"The storage of {self.path} holds no study {self.settings.study!r}; the run folder is incomplete."
            ) from None

    def trial(self, number: int | None = None) -> FrozenTrial:
        """Trial ``number``, or (None) the chosen one: the card's (re-selection may have chosen another than the
        best by validation), else the best trained trial within the budget."""
        if number is None:
            number = self._chosen_number()
        if number is not None:
            chosen = next((t for t in self.study.get_trials(deepcopy=False) if t.number == number), None)
            if chosen is None:
                raise ConfigError(f"{self.path} has no trial {number}; `kwsauto leaderboard {self.path}` lists them.")
            return chosen
        chosen = best_feasible(self.study)
        if chosen is None:
            states = sorted({t.state.name.lower() for t in self.study.get_trials(deepcopy=False)}) or ["none"]
            raise ConfigError(
                f"{self.path} has no finished trial that fits the budget (trial states: {', '.join(states)}); "
                "run the search longer, or give a `trial` number to look at one trial."
            )
        return chosen

    def record(self, number: int | None = None) -> TrialRecord:
        """:meth:`trial` as a typed record."""
        return TrialRecord.of(self.trial(number))

    def trained_trial(self, number: int | None = None) -> FrozenTrial:
        """:meth:`trial`, which must have trained to the end within the budget (so it has weights to export)."""
        chosen = self.trial(number)
        if chosen.state != TrialState.COMPLETE or not chosen.user_attrs.get("feasible"):
            raise ConfigError(
                f"Trial {chosen.number} of {self.path} was not trained to the end (state {chosen.state.name.lower()}, "
                f"feasible {chosen.user_attrs.get('feasible')}); pick a trained trial from `kwsauto leaderboard`."
            )
        return chosen

    @cached_property
    def card(self) -> ModelCard | None:
        """The chosen model's card (``best/card.json``); None before a model was chosen."""
        return self.folder.read_card()

    def rows(self) -> list[dict[str, Any]]:
        """Every trial as a leaderboard row, best first, with the chosen model's test accuracy."""
        return with_test_accuracy(leaderboard_rows(self.study), self.card)

    def leaderboard(self, sort: str = "val_accuracy", feasible_only: bool = False) -> list[dict[str, Any]]:
        """:meth:`rows` sorted by ``sort`` (see :func:`kwsauto.search.sort_rows`); ``feasible_only``: the trained
        trials that fit the budget. Rows stay dicts: they are the leaderboard's table and CSV rows."""
        return sort_rows(self.rows(), sort, feasible_only=feasible_only)

    def export_dir(self, number: int) -> Path:
        """Where trial ``number`` is exported: ``best/`` for the chosen trial, ``trials/<n>/export`` otherwise."""
        chosen = self._chosen_number()
        if chosen is None:
            best = best_feasible(self.study)
            chosen = best.number if best is not None else None
        return self.folder.best_dir if chosen == number else self.folder.trial_dir(number) / "export"

    def _chosen_number(self) -> int | None:
        """The trial the search's re-selection chose, from the card; None without one (or with a card that cannot
        be read: the commands that need the card report that)."""
        try:
            card = self.card
        except KwsautoError:
            return None
        return card.trial if card is not None and card.selection is not None else None

    def exported_card(self, number: int) -> tuple[Path, ModelCard] | None:
        """The folder and card of trial ``number``'s export, if it was exported."""
        for folder in (self.folder.best_dir, self.folder.trial_dir(number) / "export"):
            card = self.folder.read_card(folder)
            if card is not None and card.trial == number:
                return folder, card
        return None

    def exports(self, number: int) -> dict[str, Path]:
        """Trial ``number``'s exported files that exist, by their key in the one table of export files (``tflite_int8``...)."""
        found = self.exported_card(number)
        if found is None:
            return {}
        folder = found[0]
        files = {f.key: folder / f.name for f in export_files()}
        return {key: path for key, path in files.items() if path.is_file()}
