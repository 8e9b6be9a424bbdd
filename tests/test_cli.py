import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from rich.console import Console

from kwsauto.cli import main
from tests.conftest import save_random_backbone, write_tiny_space


def run_cli(*argv, capsys=None):
    out = io.StringIO()
    code = main(list(argv), console=Console(file=out, width=120))
    return code, out.getvalue()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", "--budget", "64QB"], "Cannot read --budget size '64QB'"),
        (["search", "--device", "cortex-m4"], "Unknown device 'cortex-m4' (did you mean"),
        (["search", "/nonexistent/data"], "Data folder /nonexistent/data does not exist"),
        (["search", "--space", "defualt"], "did you mean 'default'"),
        (["search", "--time-limit", "soon"], "Cannot read --time-limit duration 'soon'"),
        (["leaderboard", "/nonexistent/run"], "not a kwsauto run folder"),
        (["train", "--pretrained", "/nonexistent/backbone.pt"], "Pretrained checkpoint /nonexistent/backbone.pt does not exist"),
        (["search", "--pretrained", "/nonexistent/b.safetensors"], "/nonexistent/b.safetensors does not exist"),
        (["pretrain", "--model", "mobilenetv1_01"], "Unknown model 'mobilenetv1_01' (did you mean 'mobilenetv1_010'?)"),
        (["pretrain", "--features", "kind=mfc"], "Feature kind must be one of"),
        (["pretrain", "--model", ","], "--model is empty: name at least one model to pretrain"),
        (["pretrain", "--features", "n_filter=32"], "Unknown feature parameter 'n_filter' (did you mean 'n_filters'?)"),
        (["search", "--accelerator", "gpus"], "--accelerator must be one of auto, cpu, gpu, but got 'gpus' (did you mean"),
        (["train", "--accelerator", "cpu", "--precision", "16-mixed"], "--precision 16-mixed needs a GPU"),
        (["pretrain", "--model", "mobilenetv1_025", "--accelerator", "cpu", "--precision", "fp16"], "--precision must be one of"),
    ],
)
def test_user_errors_are_one_line_with_exit_code_2(argv, message, capsys):
    code, _ = run_cli(*argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err.replace("\n", " ")
    assert "Traceback" not in err and len(err.splitlines()) <= 3  # one message, wrapped at most by the terminal


@pytest.mark.skipif(torch.cuda.is_available() or torch.backends.mps.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("command", ["search", "train", "pretrain"])
def test_accelerator_gpu_without_one_exits_2_before_any_work(command, tmp_path, capsys):
    code, _ = run_cli(command, "--accelerator", "gpu", *(["--out", str(tmp_path / "out")] if command != "train" else []))
    err = capsys.readouterr().err.replace("\n", " ")
    assert code == 2 and "--accelerator is gpu, but torch sees no GPU" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_unwritable_output_folder_is_caught_before_training(tone_dataset, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _ = run_cli("search", str(tone_dataset), "--out", str(blocker / "run"))
    assert code == 2 and "Cannot write to output folder" in capsys.readouterr().err


def test_debug_shows_the_traceback():
    from kwsauto.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["--debug", "search", "--budget", "64QB"], console=Console(file=io.StringIO()))


def _board(text: str) -> list[tuple[int, str]]:
    """(trial number, state) of each row of a printed leaderboard, top to bottom."""
    return [(int(n), state) for n, state in re.findall(r"^ *(\d+) +(complete|infeasible|pruned|fail|running) ", text, re.MULTILINE)]


def test_search_leaderboard_and_train_commands(tone_dataset, tmp_path):
    space = write_tiny_space(tmp_path, widths=(0.25, 0.5, 1.0), learning_rate=None)
    first = tmp_path / "first.yaml"  # width 1.0 needs ~74 KB: infeasible in 64 KB; then a large and a small model
    first.write_text("- {model.width: 1.0}\n- {model.width: 0.5}\n- {model.width: 0.25}\n")
    out = tmp_path / "run"
    code, text = run_cli("search", str(tone_dataset), "--budget", "64KB", "--space", str(space), "--trials", "2",
                         "--enqueue", str(first), "--out", str(out))  # 2 trained: the infeasible one does not count
    assert code == 0
    assert "Leaderboard" in text and "Chosen model" in text and "model_int8.onnx" in text
    assert json.loads((out / "best" / "card.json").read_text())["budget"]["ram_bytes"] == 65536
    board = json.loads((out / "leaderboard.json").read_text())
    assert [r["state"] for r in sorted(board, key=lambda r: r["number"])] == ["infeasible", "complete", "complete"]

    # --sort orders the trained trials, --top keeps that many of them (a few infeasible ones are listed after)
    code, text = run_cli("leaderboard", str(out), "--sort", "ram_bytes")
    assert code == 0 and _board(text) == [(2, "complete"), (1, "complete"), (0, "infeasible")]
    code, text = run_cli("leaderboard", str(out), "--top", "1", "--sort", "ram_bytes")
    assert code == 0 and [n for n, state in _board(text) if state == "complete"] == [2]
    code, text = run_cli("leaderboard", str(out), "--top", "1", "--sort", "flash_bytes")
    assert code == 0 and [n for n, state in _board(text) if state == "complete"] == [2]
    code, text = run_cli("leaderboard", str(out), "--feasible")
    assert code == 0 and sorted(_board(text)) == [(1, "complete"), (2, "complete")]
    code, _ = run_cli("leaderboard", str(out), "--sort", "accuracy")
    assert code == 2

    config = tmp_path / "train.yaml"
    config.write_text("features: {frame_stride_s: 0.02}\nmodel: {arch: dscnn, width: 0.25}\ntrain: {epochs: 2, batch_size: 16}\n")
    code, text = run_cli("train", str(tone_dataset), "--config", str(config))
    assert code == 0 and "test accuracy" in text and "Confusion matrix" in text and "precision" in text


def test_wrong_checkpoints_are_one_line_naming_the_file(tone_dataset, tmp_path, capsys):
    import torch

    (tmp_path / "notes.safetensors").write_text("these are not weights")
    code, _ = run_cli("train", str(tone_dataset), "--pretrained", str(tmp_path / "notes.safetensors"))
    err = capsys.readouterr().err.replace("\n", " ")
    assert code == 2 and "notes.safetensors is not a readable safetensors" in err and "Traceback" not in err

    from kwsauto.models import ModelSpec, create_model

    torch.save(create_model(ModelSpec("mobilenetv1", 0.5), 3, (1, 50, 40)).state_dict(), tmp_path / "wide.pt")
    config = tmp_path / "train.yaml"
    config.write_text("model: {arch: mobilenetv1, width: 0.25}\ntrain: {epochs: 1}\n")
    code, _ = run_cli("train", str(tone_dataset), "--config", str(config), "--pretrained", str(tmp_path / "wide.pt"))
    err = capsys.readouterr().err.replace("\n", " ")
    assert code == 2 and "wide.pt: " in err and "another width or architecture" in err


def test_search_from_a_users_checkpoint(tone_dataset, tmp_path):
    """--pretrained pins the checkpoint's architecture, width and features; the card says where the model started."""
    from kwsauto.pretrain import PRETRAIN_FEATURES

    ckpt = tmp_path / "mine.safetensors"
    save_random_backbone(ckpt, features=PRETRAIN_FEATURES)
    space = write_tiny_space(tmp_path, learning_rate=None)
    out = tmp_path / "run"
    code, text = run_cli("search", str(tone_dataset), "--space", str(space), "--trials", "1", "--pretrained", str(ckpt),
                         "--out", str(out), "--reselect", "0", "--no-refit")
    assert code == 0 and "fine-tuned from" in text
    card = json.loads((out / "best" / "card.json").read_text())
    assert card["model"] == "mobilenetv1_010" and card["config"]["model"]["pretrained"] == str(ckpt)
    assert "selection" not in card  # --reselect 0 --no-refit: the trial's own weights, as trained
    assert card["config"]["features"] == PRETRAIN_FEATURES.to_dict()


def test_pretrain_command_on_a_dataset_only(tone_dataset, tmp_path):
    out = tmp_path / "backbones"
    code, text = run_cli("pretrain", str(tone_dataset), "--no-corpus", "--model", "mobilenetv1_010", "--epochs", "1",
                         "--features", "frame_stride_s=0.02,n_filters=32", "--out", str(out))
    assert code == 0 and "Pretrained backbones" in text and "mobilenetv1_010" in text
    recipe = json.loads((out / "mobilenetv1_010.recipe.json").read_text())
    assert recipe["command"].startswith("kwsauto pretrain ") and "--no-corpus" in recipe["command"]
    assert recipe["plan"]["features"]["n_filters"] == 32 and recipe["plan"]["classes"] == 3


# options of every command that the API does not default: hardware choices shared with search/train, flags, inputs
_NOT_SETTINGS = {"command", "debug", "argv", "run_dir", "datasets", "accelerator", "precision", "no_corpus"}


@pytest.mark.parametrize("argv", [["leaderboard", "RUN"], ["pretrain"]])
def test_parser_leaves_every_default_to_the_api(argv):
    from kwsauto.cli import build_parser

    args = build_parser().parse_args(argv)
    given = {k: v for k, v in vars(args).items() if k not in _NOT_SETTINGS and v is not None and v is not False}
    assert given == {}


def test_pretrain_settings_hold_the_defaults_the_help_names(tmp_path):
    from kwsauto.pretrain import PretrainSettings

    settings = PretrainSettings(models=("mobilenetv1_010",))
    assert (settings.out, settings.epochs, settings.learning_rate, settings.batch_size, settings.seed) == (
        Path("pretrained"), 12, 0.005, 64, 0)
    assert settings.corpus is not None and (settings.corpus.n_voices, settings.corpus.seed) == (80, 0)


def test_leaderboard_sort_error_names_the_flag(tiny_run, capsys):
    code, _ = run_cli("leaderboard", str(tiny_run), "--sort", "ram")
    err = capsys.readouterr().err.replace("\n", " ")
    assert code == 2 and "--sort 'ram' is not a sort key (did you mean 'ram_bytes'?)" in err


def test_devices_and_models_tables():
    code, text = run_cli("devices")
    assert code == 0 and "cortex-m4f-80mhz" in text and "esp32-s3-240mhz" in text
    code, text = run_cli("models", "--budget", "64KB")
    assert code == 0 and "mobilenetv2_035" in text and "dscnn" in text and "pretrained" in text


def test_python_dash_m_and_console_script_entry_point():
    result = subprocess.run([sys.executable, "-m", "kwsauto", "--help"], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "search" in result.stdout
    script = Path(sys.executable).with_name("kwsauto")  # what `pip install` put beside the interpreter
    result = subprocess.run([str(script), "search", "--budget", "64QB"], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Cannot read --budget size '64QB'" in result.stderr  # the installed script is main()
    result = subprocess.run([str(script), "devices"], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "cortex-m4f-80mhz" in result.stdout


# Records GOMP_SPINCOUNT at the moment torch is first imported, then runs `kwsauto models` as `python -m` does.
_OPENMP_PROBE = """
import os, runpy, sys
seen = []
class Probe:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not seen:
            seen.append(os.environ.get("GOMP_SPINCOUNT", "unset"))
sys.meta_path.insert(0, Probe())
sys.argv = ["kwsauto", "models"]
try:
    runpy.run_module("kwsauto", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
print("torch imported with GOMP_SPINCOUNT=" + (seen[0] if seen else "never"))
"""


def test_cli_shortens_openmp_spinning_before_torch_loads():
    """libgomp reads GOMP_SPINCOUNT once, when torch loads it: the CLI must set it before any torch import."""
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    result = subprocess.run([sys.executable, "-c", _OPENMP_PROBE], check=False, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("torch imported with GOMP_SPINCOUNT=20000")


def test_cli_keeps_the_users_openmp_setting(monkeypatch):
    monkeypatch.setenv("GOMP_SPINCOUNT", "300000")
    run_cli("devices")
    assert os.environ["GOMP_SPINCOUNT"] == "300000"


def test_export_command_exports_any_trained_trial(tiny_run, tmp_path):
    run = shutil.copytree(tiny_run, tmp_path / "run")
    board = json.loads((run / "leaderboard.json").read_text())
    best = json.loads((run / "best" / "card.json").read_text())["trial"]
    other = next(r["number"] for r in board if r["state"] == "complete" and r["number"] != best)
    code, text = run_cli("export", str(run), "--trial", str(other), "--format", "tflite,onnx")
    folder = run / "trials" / f"{other:04d}" / "export"
    card = json.loads((folder / "card.json").read_text())
    assert code == 0 and card["trial"] == other and str(folder) in text.replace("\n", "")
    assert (folder / "model_int8.tflite").is_file() and (folder / "model_int8.onnx").is_file()
    assert not (folder / "model_int8.h").exists()  # only the formats asked for
    infeasible = next(r["number"] for r in board if r["state"] == "infeasible")
    code, _ = run_cli("export", str(run), "--trial", str(infeasible))
    assert code == 2


def _predictions(text: str) -> dict[str, tuple[str, float]]:
    """file name -> (top label, its probability) from `kwsauto predict`'s table."""
    rows = re.findall(r"(\S+\.wav) +│ (\S+) ([\d.]+) ", text)
    return {Path(path).parent.name + "/" + Path(path).name: (label, float(p)) for path, label, p in rows}


def test_predict_on_the_test_split_gives_the_cards_int8_accuracy(tiny_run, tone_dataset):
    """Same feature pipeline as training: over the test clips, .tflite top-1 gives the card's int8 TFLite accuracy
    and agrees with .onnx int8 as often as the card says."""
    from kwsauto.data import load_dataset

    settings = json.loads((tiny_run / "run.json").read_text())
    test = load_dataset(tone_dataset).split("test")
    card = json.loads((tiny_run / "best" / "card.json").read_text())
    by_runtime = {}
    for name in ("model_int8.tflite", "model_int8.onnx"):
        code, text = run_cli("predict", str(tiny_run / "best" / name), *(str(c.path) for c in test))
        assert code == 0
        by_runtime[name] = _predictions(text)
    tflite = by_runtime["model_int8.tflite"]
    assert len(tflite) == len(test) and settings["data"] == str(tone_dataset)
    correct = sum(tflite[f"{c.path.parent.name}/{c.path.name}"][0] == c.label for c in test)
    assert correct / len(test) == pytest.approx(card["metrics"]["test_accuracy_tflite"])
    onnx = by_runtime["model_int8.onnx"]
    agreement = sum(onnx[k][0] == tflite[k][0] for k in tflite) / len(tflite)
    assert agreement == pytest.approx(card["metrics"]["agreement_tflite_onnx_int8"])


def test_profile_reports_tflms_measured_arena(tiny_run):
    card = json.loads((tiny_run / "best" / "card.json").read_text())
    code, text = run_cli("profile", str(tiny_run / "best" / "model_int8.tflite"))
    measured = re.search(r"TFLM arena, measured +│ +([\d.]+) KB", text)
    assert code == 0 and measured is not None
    assert float(measured.group(1)) == pytest.approx(card["verification"]["tflm_arena_bytes"] / 1024, abs=0.05)


@pytest.mark.parametrize(
    ("limit", "named"), [(("--flash", "20KB"), "flash"), (("--latency", "5"), "latency")]
)
def test_flash_and_latency_limits_bind_the_search(tone_dataset, tmp_path, capsys, limit, named):
    """A limit nothing in the space meets stops the search before any training, naming that limit."""
    space = write_tiny_space(tmp_path, learning_rate=None)
    code, _ = run_cli("search", str(tone_dataset), "--space", str(space), "--trials", "1", *limit,
                      "--out", str(tmp_path / "run"))
    err = capsys.readouterr().err.replace("\n", " ")
    assert code == 2 and named in err and "Traceback" not in err
    assert not (tmp_path / "run" / "trials").exists()


@pytest.mark.slow  # generates the demo dataset (espeak-ng) on a fresh cache
def test_quick_start_searches_the_demo_with_the_quick_space(tmp_path, monkeypatch):
    """README's first command, `kwsauto search --budget 64KB`, with a few trials: demo data, `quick` space."""
    monkeypatch.chdir(tmp_path)
    code, text = run_cli("search", "--budget", "64KB", "--trials", "2")
    assert code == 0 and "Chosen model" in text
    (run,) = (tmp_path / "runs").iterdir()
    settings = json.loads((run / "run.json").read_text())
    card = json.loads((run / "best" / "card.json").read_text())
    assert settings["space"] == "quick" and settings.get("demo") is True
    assert card["footprint"]["ram_bytes"] <= 64 * 1024 and card["model"].startswith("mobilenetv1_")
    assert card["config"]["model"]["pretrained"]  # the quick space fine-tunes the shipped backbones


def test_api_fields_become_flags_where_the_message_names_them():
    from kwsauto.cli import _in_flags
    from kwsauto.errors import ConfigError, OutputError

    assert _in_flags(ConfigError("n_trials must be at least 1, but got 0.", field="n_trials")) == (
        "--trials must be at least 1, but got 0.")
    error = OutputError("Cannot write to output folder /tmp/out: denied. Choose another (`out`) or `study_name`.")
    assert _in_flags(error) == "Cannot write to output folder /tmp/out: denied. Choose another (--out) or --study."
    assert _in_flags(ConfigError("sorted trials exclude trial 3")) == "sorted trials exclude trial 3"  # no field named
