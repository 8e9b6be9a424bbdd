"""Random and mutated input to every parser of a user file: each may only succeed or raise kwsauto's one-line
error (a :class:`KwsautoError`). Search spaces, enqueue files, split CSVs, units and device names, card.json and
run.json, the TFLite reader."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kwsauto.errors import KwsautoError

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KEYS = ["features", "model", "train", "augment", "arch", "width", "epochs", "batch_size", "learning_rate", "kind",
        "n_filters", "frame_stride_s", "choices", "int", "float", "log", "step", "pretrained", "noise", "seed"]
scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=12)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4), max_leaves=20)
VALID_SPACE = {"features": {"frame_stride_s": 0.02}, "model": {"arch": "dscnn", "width": {"choices": [0.25, 0.5]}},
               "train": {"epochs": {"int": [1, 3]}, "learning_rate": {"float": [0.001, 0.01], "log": True}}}


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, byte in edits:
        if out:
            out[position % len(out)] = byte
    return bytes(out)


mutations = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8)


@FAST
@given(st.dictionaries(st.sampled_from(["features", "model", "train"]) | st.text(max_size=6), values, max_size=3))
def test_search_space_parser(raw):
    from kwsauto.search import parse_space

    try:
        parse_space(raw, source="random.yaml")
    except KwsautoError:
        pass


@FAST
@given(st.sampled_from(["features", "model", "train"]), st.sampled_from(KEYS), values)
def test_search_space_with_one_bad_value(section, key, value):
    from kwsauto.search import parse_space

    raw = json.loads(json.dumps(VALID_SPACE))
    raw.setdefault(section, {})[key] = value
    try:
        parse_space(raw, source="mutated.yaml")
    except KwsautoError:
        pass


@FAST
@given(st.one_of(st.binary(max_size=200), values.map(lambda v: yaml.safe_dump(v).encode()),
                 mutations.map(lambda m: _mutate(b"- {model.width: 0.5, train.learning_rate: 0.005}\n", m))))
def test_enqueue_file_parser(tmp_path, content):
    from kwsauto.search import parse_space
    from kwsauto.search._enqueue import read_parameter_sets

    path = tmp_path / "seeds.yaml"
    path.write_bytes(content)
    try:
        read_parameter_sets(path, parse_space(VALID_SPACE))
    except KwsautoError:
        pass


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("csvprop")
    for label in ("yes", "no"):
        (root / label).mkdir()
        for i in range(3):
            sf.write(root / label / f"spk{i}_nohash_0.wav", np.random.default_rng(i).normal(0, 0.1, 1600), 16000)
    return root


VALID_CSV = "file,class\nyes/spk0_nohash_0.wav,yes\nno/spk1_nohash_0.wav,no\nyes/spk2_nohash_0.wav,yes\n"


@FAST
@given(st.one_of(st.text(max_size=200), mutations.map(lambda m: _mutate(VALID_CSV.encode(), m).decode("latin-1")),
                 st.lists(st.tuples(st.text(max_size=30), st.text(max_size=8)), max_size=5).map(
                     lambda rows: "file,class\n" + "".join(f"{f},{c}\n" for f, c in rows))))
def test_split_csv_parser(csv_folder, text):
    from kwsauto.data import load_dataset

    (csv_folder / "train.csv").write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_dataset(csv_folder)
    except KwsautoError:
        pass


@FAST
@given(st.one_of(st.text(max_size=20), st.floats(allow_nan=True), st.integers(-10**12, 10**12)))
def test_units_parsers(text):
    from kwsauto.units import parse_bytes, parse_duration_s, parse_hz

    for parse in (parse_bytes, parse_duration_s, parse_hz):
        try:
            value = parse(text)
        except KwsautoError:
            continue
        assert math.isfinite(value) and value > 0


@FAST
@given(st.text(max_size=30))
def test_device_names(name):
    from kwsauto.device import get_device

    try:
        get_device(name)
    except KwsautoError:
        pass


@FAST
@given(st.one_of(st.binary(max_size=100), values.map(lambda v: json.dumps(v).encode()),
                 mutations.map(lambda m: _mutate(json.dumps({"study": "s", "dataset": {"val_fraction": 0.2}}).encode(), m))))
def test_run_json_and_card_json_readers(tmp_path, content):
    from kwsauto.search import RunFolder

    (tmp_path / "best").mkdir(exist_ok=True)
    (tmp_path / "run.json").write_bytes(content)
    (tmp_path / "best" / "card.json").write_bytes(content)
    run = RunFolder(tmp_path)
    for read in (run.read_settings, run.read_card):
        try:
            read()
        except KwsautoError:
            pass


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory) -> bytes:
    from tests.reliability._tiny import write_tiny_tflite

    return write_tiny_tflite(tmp_path_factory.mktemp("tfl") / "m.tflite").read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(mutations, st.integers(0, 10**5).map(lambda n: [(-1, n)])))
def test_tflite_reader(tiny_tflite, tmp_path, edits):
    from kwsauto.export._tflite_reader import read_int8_graph

    data = tiny_tflite[: edits[0][1]] if edits[0][0] == -1 else _mutate(tiny_tflite, edits)  # cut short, or bytes changed
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    try:
        read_int8_graph(path)
    except KwsautoError:
        pass
