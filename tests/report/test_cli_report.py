"""The benchmark, summary and report commands of ``kwsauto.cli``."""

import io
import json

import pytest
from rich.console import Console

from kwsauto.cli import main


def run_cli(*argv):
    out = io.StringIO()
    code = main([str(a) for a in argv], console=Console(file=out, width=120))
    return code, out.getvalue()


def test_benchmark_command_prints_tables_and_writes_json(tiny_run, tmp_path):
    path = tmp_path / "bench.json"
    code, out = run_cli("benchmark", tiny_run, "--repeats", 3, "--json", path)
    assert code == 0
    for title in ("Test accuracy", "Footprint per device", "Host latency", "Per class", "Confusion matrix"):
        assert title in out, title
    assert json.loads(path.read_text())["models"][0]["accuracy"]


def test_benchmark_budget_flags_replace_the_runs(tiny_run, tmp_path):
    path = tmp_path / "bench.json"
    code, _ = run_cli("benchmark", tiny_run, "--repeats", 2, "--budget", "1KB", "--json", path)
    data = json.loads(path.read_text())
    assert code == 0 and data["budget"] == {"ram_bytes": 1024, "flash_bytes": None, "latency_ms": None}
    assert not any(d["fits"] for d in data["models"][0]["devices"])


def test_summary_and_report_commands(tiny_run, tmp_path):
    code, out = run_cli("summary", tiny_run / "best" / "model_int8.tflite")
    assert code == 0 and "◀" in out and "SOFTMAX" in out
    code, out = run_cli("report", tiny_run, "--out", tmp_path)
    assert code == 0 and (tmp_path / "report.html").is_file() and (tmp_path / "report.md").is_file()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["benchmark", "/nonexistent/run"], "does not exist"),
        (["benchmark", "{run}", "--trial", "99"], "has no trial 99"),
        (["benchmark", "{run}", "--top", "0"], "--top must be at least 1"),
        (["benchmark", "{run}", "--budget", "64QB"], "Cannot read --budget size '64QB'"),
        (["benchmark", "{empty}"], "no finished trial"),
        (["summary", "{run}/run.json"], "is not a .tflite or .onnx model"),
        (["report", "/nonexistent/run"], "not a kwsauto run folder"),
        (["report", "{run}", "--out", "{run}/run.json/report"], "choose another folder (--out)"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(tiny_run, empty_run, argv, message, capsys):
    argv = [a.format(run=tiny_run, empty=empty_run) for a in argv]
    code, _ = run_cli(*argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err.replace("\n", " ")
    assert "Traceback" not in err and len(err.splitlines()) <= 3
