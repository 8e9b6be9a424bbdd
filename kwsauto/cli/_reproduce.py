"""The ``kwsauto search`` command line that reproduces (or resumes) a run, written from its ``run.json``.

It lives in the CLI because only the CLI knows its flags; ``kwsauto report`` gives it to the report to render.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kwsauto.report import RunReport
    from kwsauto.search import RunSettings

__all__ = ["reproduce_command", "with_reproduce_command"]


def reproduce_command(settings: RunSettings, n_trials: int, run_dir: Path) -> str:
    """The ``kwsauto search`` command line that runs (or resumes) this search, from its ``run.json``."""
    from kwsauto.data import DatasetOptions

    args = ["kwsauto", "search"]
    if not settings.demo:
        args.append(settings.data)
    budget = settings.budget
    for flag, n in (("--budget", budget.ram_bytes), ("--flash", budget.flash_bytes)):
        if n:
            args += [flag, f"{n // 1024}KB" if n % 1024 == 0 else str(n)]
    if budget.latency_ms:
        args += ["--latency", f"{budget.latency_ms:g}"]
    args += ["--device", settings.device, "--space", settings.space, "--trials", str(max(n_trials, 1))]
    args += ["--seed", str(settings.seed), "--sampler", settings.sampler, "--pruner", settings.pruner]
    args += ["--objective", settings.objective, "--metric", settings.metric]
    if settings.time_limit_s:
        args += ["--time-limit", f"{settings.time_limit_s:g}s"]
    if settings.workers > 1:
        args += ["--workers", str(settings.workers)]
    if settings.expert:
        args += ["--expert", settings.expert]
    if settings.pretrained:
        args += ["--pretrained", settings.pretrained]
    args += ["--study", settings.study, "--out", str(run_dir)]
    dataset, default = settings.dataset, DatasetOptions()
    if dataset.keywords:
        args += ["--keywords", ",".join(dataset.keywords)]
    if dataset.noise_class:
        args.append("--noise-class")
    if dataset.strict:
        args.append("--strict")
    if dataset.speaker_patterns != default.speaker_patterns:
        for pattern in dataset.speaker_patterns:
            args += ["--speaker-pattern", pattern]
    return shlex.join(args)


def with_reproduce_command(report: RunReport) -> RunReport:
    """``report`` with the command that resumes its run, and what that command cannot say."""
    note = f"The same command again resumes the study in {report.run_dir}."
    if report.settings.storage:
        note += f" The study lives in shared storage ({report.settings.storage}): add --storage with its password."
    command = reproduce_command(report.settings, report.finished, report.run_dir)
    return replace(report, command=command, reproduce_note=note)
