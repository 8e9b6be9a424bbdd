import io
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from kwsauto.cli import build_parser, main
from kwsauto.errors import KwsautoError
from kwsauto.report import ReportFiles, write_run_report


@pytest.fixture(scope="module")
def report_files(tiny_run, tmp_path_factory):
    """The report as ``kwsauto report`` writes it: with the command that reproduces the run."""
    out = tmp_path_factory.mktemp("report")
    assert main(["report", str(tiny_run), "--out", str(out)], console=Console(file=io.StringIO())) == 0
    return ReportFiles(out / "report.html", out / "report.md")


def test_html_is_self_contained(report_files):
    html = report_files.html.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    sources = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert len(sources) == 4 and all(s.startswith("data:image/png;base64,") for s in sources)


def test_html_and_markdown_hold_the_report(tiny_run, report_files):
    import json

    card = json.loads((tiny_run / "best" / "card.json").read_text())
    html, md = report_files.html.read_text(), report_files.markdown.read_text()
    for text in (html, md):
        for heading in (
            "Study settings, budget and device",
            "Leaderboard",
            "Chosen model",
            "Per-class metrics",
            "Plots",
            "How to reproduce",
            "cortex-m4f-80mhz",
            "48.0 KB",
            card["model"],
        ):
            assert heading in text, heading
        for label in card["labels"]:
            assert label in text
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(images) == 4 and all(
        (report_files.markdown.parent / p).read_bytes()[:4] == b"\x89PNG" for p in images
    )


def test_reproduce_command_is_valid_for_the_cli(tiny_run, report_files):
    md = report_files.markdown.read_text()
    command = re.search(r"```sh\n(.+)\n```", md).group(1)
    argv = shlex.split(command)
    assert argv[:2] == ["kwsauto", "search"]
    args = build_parser().parse_args(argv[1:])
    assert args.budget == "48KB" and args.out == tiny_run and args.sampler == "random" and args.seed == 1


def test_the_api_report_renders_no_command_it_was_not_given(tiny_run, tmp_path):
    files = write_run_report(tiny_run, tmp_path)
    for text in (files.html.read_text(), files.markdown.read_text()):
        assert "Leaderboard" in text and "How to reproduce" not in text and "kwsauto search" not in text


def test_run_without_finished_trials_gets_a_partial_report(empty_run, tmp_path):
    files = write_run_report(empty_run, tmp_path)
    html = files.html.read_text()
    assert "No model was chosen" in html and "Not drawn" in html and "data:image/png" not in html
    assert "No model was chosen" in files.markdown.read_text()


def test_report_of_a_folder_that_is_no_run(tmp_path):
    with pytest.raises(KwsautoError, match="not a kwsauto run folder") as info:
        write_run_report(tmp_path)
    assert "\n" not in str(info.value)


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


@pytest.mark.skipif(
    _browser() is None, reason="no headless Chromium/Chrome installed (apt-get install chromium)"
)
def test_report_renders_in_a_headless_browser(report_files, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "report.png"
    command = [
        _browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--hide-scrollbars",
        "--window-size=1200,2400",
        f"--screenshot={shot}",
        report_files.html.as_uri(),
    ]
    subprocess.run(command, capture_output=True, timeout=90, check=False)
    assert shot.is_file(), "the browser wrote no screenshot"
    pixels = imread(shot)  # [height, width, channels] in [0, 1]
    assert pixels.shape[:2] == (2400, 1200)
    assert pixels.std() > 0.05  # not a blank page: text, tables and plots drew
    # the plots are rendered images: some rows of the page hold many distinct colours
    assert max(len({tuple(px) for px in row[::4]}) for row in (pixels[::40] * 255).astype(int)) > 20
