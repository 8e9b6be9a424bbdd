"""Every numeric flag with 0, a negative, nan, inf, a huge value and a wrong unit; names that do not exist; search
spaces, ``--enqueue`` and ``--config`` files with YAML tags, anchors, duplicate keys, unknown keys, wrong types,
nothing in them or not a mapping. Each runs the real command in-process; none trains.

A space that holds ("held") is stopped by a budget nothing fits (``--budget 1B``), which is checked after the space
is read, so reaching that message proves the file was accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability._matrix import EXECUTED, SPACE, Case, check_case, no_code_ran, search_args, write
from tests.reliability._tiny import write_tiny_tflite

FITS_NOTHING = "Nothing in the search space fits"


def _tag(tmp: Path) -> str:
    return f"!!python/object/apply:os.system ['touch {tmp / EXECUTED}']"


def _space(space: str, *extra: str):
    return lambda t, d: search_args(t, d, *extra, space=space)


def _flag(*extra: str):
    return lambda t, d: search_args(t, d, *extra)


def _enqueue(content) -> object:
    def setup(tmp: Path, data: Path) -> list:
        text = content(tmp) if callable(content) else content
        seeds = write(tmp / ("seeds.json" if text.startswith("[") else "seeds.yaml"), text)
        space = write(tmp / "s.yaml", SPACE.replace("width: 0.25", "width: {choices: [0.25, 0.5]}"))
        return [*search_args(tmp, data, "--enqueue", seeds), "--space", space]

    return setup


def _config(content) -> object:
    return lambda t, d: ["train", d, "--config", write(t / "c.yaml", content(t) if callable(content) else content)]


def _model_file(*args: str):
    return lambda t, d: [args[0], write_tiny_tflite(t / "m.tflite"), *args[1:]]


FLAGS = [
    Case("--budget negative", _flag("--budget=-1KB"), "Cannot read --budget size '-1KB'"),
    Case("--budget nan", _flag("--budget", "nan"), "Cannot read --budget size 'nan'"),
    Case("--budget inf", _flag("--budget", "inf"), "Cannot read --budget size 'inf'"),
    Case("--budget huge", _flag("--budget", "1e30TB"), "Cannot read --budget size '1e30TB'"),
    Case("--budget wrong unit", _flag("--budget", "64 parsecs"), "Cannot read --budget size '64 parsecs'"),
    Case("--budget 1 byte (held)", _flag("--budget", "1B"), FITS_NOTHING),
    Case("--flash 0", _flag("--flash", "0"), "--flash size must be positive"),
    Case("--flash negative", _flag("--flash=-5KB"), "Cannot read --flash size '-5KB'"),
    Case("--flash nan", _flag("--flash", "nan"), "Cannot read --flash size 'nan'"),
    Case("--flash wrong unit", _flag("--flash", "512KG"), "Cannot read --flash size '512KG'"),
    Case("--latency 0", _flag("--latency", "0"), "--latency must be a positive finite number"),
    Case("--latency negative", _flag("--latency=-1"), "--latency must be a positive finite number"),
    Case("--latency not a number", _flag("--latency", "5ms"), "argument --latency: invalid float value: '5ms'"),
    Case("--latency huge (held)", _flag("--latency", "1e300", "--budget", "1B"), FITS_NOTHING),
    Case("--trials negative", _flag("--trials=-3"), "--trials must be at least 1, but got -3"),
    Case("--trials nan", _flag("--trials", "nan"), "argument --trials: invalid int value: 'nan'"),
    Case("--time-limit negative", _flag("--time-limit=-5m"), "Cannot read --time-limit duration '-5m'"),
    Case("--time-limit nan", _flag("--time-limit", "nan"), "Cannot read --time-limit duration 'nan'"),
    Case("--time-limit inf", _flag("--time-limit", "inf"), "Cannot read --time-limit duration 'inf'"),
    Case("--time-limit huge", _flag("--time-limit", "1e400h"), "Cannot read --time-limit duration '1e400h'"),
    Case("--time-limit wrong unit", _flag("--time-limit", "15 parsecs"), "Cannot read --time-limit duration"),
    Case("--workers negative", _flag("--workers=-1"), "--workers must be at least 1, but got -1"),
    Case("--workers inf", _flag("--workers", "inf"), "argument --workers: invalid int value: 'inf'"),
    Case("--seed negative (held)", _flag("--seed=-1", "--budget", "1B"), FITS_NOTHING),
    Case("--device empty", _flag("--device", ""), "Unknown device ''"),
    Case("--device unknown", _flag("--device", "esp32-c99"), "did you mean 'esp32-s3-240mhz'"),
    Case("--pruner typo", _flag("--pruner", "medain"), "did you mean 'median'"),
    Case("--objective unknown", _flag("--objective", "loss"), "--objective must be one of accuracy, pareto"),
    Case("--metric unknown", _flag("--metric", "f1"), "--metric must be one of accuracy, macro_f1"),
    Case("--accelerator unknown", _flag("--accelerator", "tpu"), "--accelerator must be one of auto, cpu, gpu"),
    Case("--precision unknown", _flag("--precision", "8"), "--precision must be one of 32, 16-mixed, bf16-mixed"),
    Case("--precision 16-mixed on the CPU", _flag("--precision", "16-mixed", "--accelerator", "cpu"), "needs a GPU"),
    Case("--expert missing", lambda t, d: search_args(t, d, "--expert", str(t / "nope.py")), "nope.py does not exist"),
    Case("--space missing", lambda t, d: [*search_args(t, d), "--space", str(t / "nope.yaml")], "nope.yaml does not exist"),
    Case("models --classes 0", lambda t, d: ["models", "--classes", "0"], "--classes must be at least 2"),
    Case("models --classes negative", lambda t, d: ["models", "--classes=-1"], "--classes must be at least 2"),
    Case("models --budget nan", lambda t, d: ["models", "--budget", "nan"], "Cannot read --budget size 'nan'"),
    Case("models --device unknown", lambda t, d: ["models", "--device", "nope"], "Unknown device 'nope'"),
    Case("predict --top 0", lambda t, d: ["predict", write_tiny_tflite(t / "m.tflite"),
                                         next(d.rglob("*.wav")), "--top", "0"], "--top must be at least 1"),
    Case("profile --device unknown", _model_file("profile", "--device", "nope"), "Unknown device 'nope'"),
    Case("benchmark --repeats 0", _model_file("benchmark", "--repeats", "0"), "--repeats must be at least 1"),
]

SPACES = [
    Case("space: YAML tag that would run code", lambda t, d: search_args(t, d, space=f"train: {_tag(t)}\n"),
         "could not determine a constructor for the tag", after=no_code_ran),
    Case("space: anchors and merge keys (held)", _space(
        "features: {frame_stride_s: 0.02}\nmodel: &m {arch: dscnn, width: 0.25}\ntrain: {<<: {epochs: 1}, batch_size: 16}\n",
        "--budget", "1B"), FITS_NOTHING),
    Case("space: duplicate section", _space(SPACE + "train: {epochs: 2}\n"), "the key 'train' is given twice at line 4"),
    Case("space: duplicate key", _space("train: {epochs: 1, epochs: 2}\n"), "the key 'epochs' is given twice"),
    Case("space: empty file, the defaults (held)", _space("", "--budget", "1B"), FITS_NOTHING),
    Case("space: a list", _space("- a\n- b\n"), "must be a mapping with features/model/train sections"),
    Case("space: a scalar", _space("hello\n"), "must be a mapping with features/model/train sections"),
    Case("space: YAML syntax error", _space("train: {epochs: 1\n"), "is not valid YAML"),
    Case("space: NUL bytes", _space("\x00\x01"), "is not valid YAML"),
    Case("space: unknown architecture", _space("model: {arch: resnet50}\n"), "Unknown architecture 'resnet50'"),
    Case("space: unknown section", _space("modle: {arch: dscnn}\n"), "did you mean 'model'"),
    Case("space: negative epochs", _space("train: {epochs: -1}\n"), "epochs (training cycles) must be at least 1"),
    Case("space: nan learning rate", _space("train: {learning_rate: .nan}\n"), "learning_rate must be in (0, 10)"),
    Case("space: width 0", _space("model: {width: 0}\n"), "Width multiplier must be in (0, 2]"),
    Case("space: int range reversed", _space("train: {epochs: {int: [5, 1]}}\n"), "needs low < high, but got [5, 1]"),
    Case("space: empty choices", _space("model: {width: {choices: []}}\n"), "must be a non-empty list"),
]

ENQUEUE = [
    Case("enqueue: YAML tag that would run code", _enqueue(lambda t: f"- {_tag(t)}\n"),
         "could not determine a constructor for the tag", after=no_code_ran),
    Case("enqueue: duplicate key", _enqueue("- {model.width: 0.25, model.width: 0.5}\n"), "'model.width' is given twice"),
    Case("enqueue: empty file", _enqueue(""), "must hold a list of parameter mappings"),
    Case("enqueue: a scalar", _enqueue("hello\n"), "must hold a list of parameter mappings"),
    Case("enqueue: JSON syntax error", _enqueue("[{"), "cannot be parsed: Expecting property name"),
    Case("enqueue: value outside the space", _enqueue("- {model.width: 0.75}\n"), "model.width=0.75 is not one of"),
    Case("enqueue: missing file", lambda t, d: search_args(t, d, "--enqueue", str(t / "nope.yaml")),
         "nope.yaml does not exist"),
]

CONFIGS = [
    Case("config: YAML tag", _config(lambda t: f"model: {_tag(t)}\n"), "could not determine a constructor",
         after=no_code_ran),
    Case("config: duplicate section", _config("model: {width: 0.25}\nmodel: {width: 0.5}\n"), "'model' is given twice"),
    Case("config: a list", _config("- 1\n"), "must be a mapping with features/model/train sections"),
    Case("config: a search range, not a value", _config("model: {width: {choices: [0.25, 0.5]}}\n"),
         "'width' must be a number"),
    Case("config: unknown section", _config("trian: {epochs: 1}\n"), "did you mean 'train'"),
    Case("config: missing file", lambda t, d: ["train", d, "--config", t / "nope.yaml"], "nope.yaml does not exist"),
]

CASES = FLAGS + SPACES + ENQUEUE + CONFIGS


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_options_and_config_files(case, small_data, tmp_path, capsys):
    check_case(case, small_data, tmp_path, capsys)
