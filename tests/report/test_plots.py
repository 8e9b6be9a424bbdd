import pytest

from kwsauto.errors import KwsautoError
from kwsauto.report._plots import plot_accuracy_vs_ram, plot_confusion, write_run_plots

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == PNG and path.stat().st_size > 2000


def test_every_plot_of_a_run_is_a_png(tiny_run, tmp_path):
    plots = write_run_plots(tiny_run, tmp_path / "plots")
    assert set(plots.files) == {"confusion", "accuracy_vs_ram", "optimization_history", "param_importances"}
    assert not plots.skipped
    for path in plots.files.values():
        assert path.parent == tmp_path / "plots" and _is_png(path), path


def test_plots_of_a_run_without_finished_trials_say_why(empty_run, tmp_path):
    plots = write_run_plots(empty_run, tmp_path)
    assert not plots.files
    assert "no best/card.json" in plots.skipped["confusion"]
    assert "needs at least 2" in plots.skipped["optimization_history"]
    assert "no trial has a footprint" in plots.skipped["accuracy_vs_ram"]


def test_single_plots(tmp_path):
    assert _is_png(
        plot_confusion(["yes", "no", "up"], [[5, 1, 0], [0, 6, 0], [2, 0, 4]], tmp_path / "cm.png")
    )
    rows = [
        {"number": 0, "state": "complete", "val_accuracy": 0.9, "ram_bytes": 30_000},
        {"number": 1, "state": "complete", "val_accuracy": 0.7, "ram_bytes": 20_000},
        {"number": 2, "state": "infeasible", "val_accuracy": None, "ram_bytes": 90_000},
    ]
    assert _is_png(plot_accuracy_vs_ram(rows, tmp_path / "acc.png", ram_limit_bytes=48 * 1024, chosen=0))
    with pytest.raises(KwsautoError, match="no trial has a footprint"):
        plot_accuracy_vs_ram([], tmp_path / "none.png")
