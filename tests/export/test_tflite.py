"""The int8 .tflite file: it runs in LiteRT and TFLite Micro alike, agrees with the float model, and carries labels.

Each architecture is trained for a few seconds on synthetic spectrograms (a class-dependent band of energy at a
random time), so its outputs are meaningful, then quantized and written once per session (``conftest.py``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from kwsauto.device import Buffer, plan_arena
from kwsauto.errors import KwsautoError
from kwsauto.export._c_array import write_c_array
from kwsauto.export._graph import SUPPORTED_OPS, Int8Graph, OpSpec, TensorSpec, trace_int8_graph
from kwsauto.export._quantize import (
    SOFTMAX_OUTPUT,
    QuantizedGraph,
    QuantizedOp,
    QuantParams,
    placeholder_quantized_graph,
)
from kwsauto.export._tflite import read_tflite_metadata, tflite_bytes, tflite_size_bytes
from kwsauto.export._verify import (
    quantize_features,
    run_litert,
    run_tflm,
    tflite_op_names,
    tflm_arena_usage,
)
from kwsauto.models import create_model
from tests.export._synthetic import FEATURES, INPUT_SHAPE, LABELS, SPECS
from tests.export.conftest import TrainedExport


@dataclass
class Exported:
    arch: str
    graph: Int8Graph
    path: Path
    float_probs: np.ndarray  # [n, classes] on the test clips
    labels: np.ndarray
    int8_inputs: np.ndarray  # [n, frames, coeffs, 1]


@pytest.fixture(scope="module")
def exported(trained_export: TrainedExport) -> Exported:
    t = trained_export
    return Exported(t.arch, t.graph, t.tflite, t.float_probs, t.y_test, quantize_features(t.tflite, t.x_test.numpy()))


def test_float_model_learned_the_task(exported: Exported) -> None:
    assert (exported.float_probs.argmax(1) == exported.labels).mean() >= 0.9


def test_litert_top1_agrees_with_float(exported: Exported) -> None:
    outputs = run_litert(exported.path, exported.int8_inputs)
    assert outputs.dtype == np.int8 and outputs.shape == exported.float_probs.shape
    assert (outputs.argmax(1) == exported.float_probs.argmax(1)).mean() >= 0.95


def test_tflm_matches_litert_within_one_lsb(exported: Exported) -> None:
    reference = run_litert(exported.path, exported.int8_inputs[:50]).astype(np.int32)
    micro = run_tflm(exported.path, exported.int8_inputs[:50]).astype(np.int32)
    assert micro.shape == reference.shape
    assert np.abs(micro - reference).max() <= 1


def test_ops_are_the_graphs_tflm_builtins(exported: Exported) -> None:
    names = tflite_op_names(exported.path)
    assert names == [op.kind for op in exported.graph.ops]
    assert set(names) <= set(SUPPORTED_OPS)
    assert ("ADD" in names) == (exported.arch == "mobilenetv2")
    head = ["AVERAGE_POOL_2D"] + ["CONV_2D"] * (2 if SPECS[exported.arch].head_units else 1) + ["RESHAPE"]
    assert names[-len(head) - 1 :] == [*head, "SOFTMAX"]


def test_metadata_round_trips(exported: Exported) -> None:
    assert read_tflite_metadata(exported.path) == {"labels": list(LABELS), "features": FEATURES}


def test_constant_buffers_are_16_byte_aligned(exported: Exported) -> None:
    from ai_edge_litert import schema_py_generated as schema

    data = exported.path.read_bytes()
    model = schema.Model.GetRootAs(data, 0)
    starts = []
    for i in range(model.BuffersLength()):
        buffer = model.Buffers(i)
        if buffer.DataLength():
            starts.append(buffer._tab.Vector(buffer._tab.Offset(4)))  # absolute offset of the data
    assert len(starts) > 2 and all(s % 16 == 0 for s in starts)
    assert len(data) % 16 == 0


def test_size_is_known_before_training(exported: Exported) -> None:
    size = tflite_size_bytes(exported.graph, labels=LABELS, feature_params=FEATURES)
    assert size == exported.path.stat().st_size


def test_tflm_arena_is_measured_exactly(exported: Exported) -> None:
    from tflite_micro.python.tflite_micro import runtime

    usage = tflm_arena_usage(exported.path)
    assert usage.used_bytes == usage.head_bytes + usage.tail_bytes > 0
    assert 0 < sum(size for _, size in usage.sections) <= usage.tail_bytes
    assert usage.arena_bytes % 16 == 0 and usage.arena_bytes >= usage.used_bytes - 16
    runtime.Interpreter.from_file(str(exported.path), arena_size=usage.arena_bytes)  # exactly enough...
    with pytest.raises(RuntimeError):
        runtime.Interpreter.from_file(str(exported.path), arena_size=usage.arena_bytes - 16)  # ...and no less
    # TFLM's head holds the planned activations; kwsauto's replay of its planner must agree.
    graph = exported.graph
    lifetimes = graph.lifetimes()
    planned, _ = plan_arena([Buffer(t.n_bytes, *lifetimes[t.index], t.name) for t in graph.tensors])
    assert usage.head_bytes == planned


def test_c_array_holds_the_file(exported: Exported, tmp_path: Path) -> None:
    header, source = write_c_array(exported.path, tmp_path / "model_int8.h", tmp_path / "model_int8.cc")
    text = source.read_text()
    size = exported.path.stat().st_size
    assert f"const unsigned int g_model_len = {size};" in text
    assert "alignas(16) const unsigned char g_model[]" in text
    assert bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", text)) == exported.path.read_bytes()
    assert header.read_text().count("#ifndef MODEL_INT8_H_") == 1
    compiler = shutil.which("g++")
    if compiler and exported.arch == "dscnn":
        subprocess.run([compiler, "-std=c++17", "-c", str(source), "-o", str(tmp_path / "m.o")], check=True)


def test_not_a_tflite_file_is_one_line_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.tflite"
    bogus.write_text("not a model\n" * 4)
    for call in (
        lambda: run_tflm(bogus, np.zeros((1, 49, 10, 1), np.int8)),
        lambda: run_litert(bogus, np.zeros((1, 49, 10, 1), np.int8)),
        lambda: tflm_arena_usage(bogus),
        lambda: read_tflite_metadata(bogus),
        lambda: write_c_array(bogus, tmp_path / "m.h"),
    ):
        with pytest.raises(KwsautoError) as info:
            call()
        message = str(info.value)
        assert "\n" not in message and str(bogus) in message and "not a TFLite model" in message


def test_op_missing_from_tflm_is_named(tmp_path: Path) -> None:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    graph = trace_int8_graph(create_model(SPECS["dscnn"], len(LABELS), INPUT_SHAPE), INPUT_SHAPE)
    model = schema.ModelT.InitFromPackedBuf(tflite_bytes(placeholder_quantized_graph(graph)), 0)
    for code in model.operatorCodes:
        if code.builtinCode == schema.BuiltinOperator.RESHAPE:
            code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.SEGMENT_SUM
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    patched = tmp_path / "segment_sum.tflite"
    patched.write_bytes(builder.Output())
    with pytest.raises(KwsautoError, match="SEGMENT_SUM") as info:
        run_tflm(patched, np.zeros((1, 49, 10, 1), np.int8))
    assert "\n" not in str(info.value) and str(patched) in str(info.value)


def _classifier_head(kind: str, features: int = 16, classes: int = 4) -> QuantizedGraph:
    """A logits layer and SOFTMAX alone, as FULLY_CONNECTED or as the 1x1 CONV_2D kwsauto writes (same numbers).

    The logit scale (0.125) is coarse, as a poorly separated 40-class model's is: one step of a logit moves a
    probability near 0.5 by up to ``0.25 * 0.125 * 256 = 8`` output steps.
    """
    rng = np.random.default_rng(0)
    weights = rng.integers(-20, 21, (classes, features)).astype(np.int8)
    bias = rng.integers(-200, 200, classes).astype(np.int32)
    in_q, logit_q = QuantParams((0.05,), (0,)), QuantParams((0.125,), (0,))
    softmax = QuantParams((SOFTMAX_OUTPUT[0],), (SOFTMAX_OUTPUT[1],))
    n = 1 if kind == "FULLY_CONNECTED" else classes  # FC weights per tensor, conv weights per channel
    weight_q, bias_q = QuantParams((0.02,) * n, (0,) * n), QuantParams((0.05 * 0.02,) * n, (0,) * n)
    if kind == "FULLY_CONNECTED":
        shapes = [(1, features), (1, classes), (1, classes)]
        ops = [OpSpec(kind, "logits", (0,), 1, weight_shape=(classes, features), bias_size=classes)]
        acts = [in_q, logit_q, softmax]
    else:
        shapes = [(1, 1, 1, features), (1, 1, 1, classes), (1, classes), (1, classes)]
        ops = [
            OpSpec(kind, "logits", (0,), 1, weight_shape=(classes, 1, 1, features), bias_size=classes, padding="VALID"),
            OpSpec("RESHAPE", "flat", (1,), 2),
        ]
        acts = [in_q, logit_q, logit_q, softmax]
        weights = weights.reshape(classes, 1, 1, features)
    ops.append(OpSpec("SOFTMAX", "softmax", (len(shapes) - 2,), len(shapes) - 1))
    graph = Int8Graph(tuple(TensorSpec(i, f"t{i}", s) for i, s in enumerate(shapes)), tuple(ops), 0, len(shapes) - 1)
    qops = [QuantizedOp(ops[0], weights, weight_q, bias, bias_q), *(QuantizedOp(op) for op in ops[1:])]
    return QuantizedGraph(graph, tuple(acts), tuple(qops))


def test_tflm_and_litert_round_a_fully_connected_differently_but_a_conv_alike(tmp_path: Path) -> None:
    """Issue 11: why the classifier head is written as a CONV_2D.

    TFLM requantizes FULLY_CONNECTED in two roundings (gemmlowp's doubling high multiply, then a rounding shift),
    LiteRT in one, so a logit near a rounding tie differs by one step and the softmax makes that several. The
    same numbers as a 1x1 CONV_2D give TFLM's results exactly, and LiteRT then agrees with them bit for bit.
    """
    x = np.random.default_rng(1).integers(-128, 128, (2000, 16)).astype(np.int8)
    out = {}
    for kind, inputs in (("FULLY_CONNECTED", x), ("CONV_2D", x.reshape(-1, 1, 1, 16))):
        path = tmp_path / f"{kind}.tflite"
        path.write_bytes(tflite_bytes(_classifier_head(kind), labels=list("abcd")))
        assert tflite_op_names(path)[0] == kind
        out[kind] = run_tflm(path, inputs).astype(int), run_litert(path, inputs).astype(int)
    micro, reference = out["FULLY_CONNECTED"]
    assert np.abs(micro - reference).max() > 1  # the old head: measured 8 steps
    micro_conv, reference_conv = out["CONV_2D"]
    np.testing.assert_array_equal(micro_conv, micro)  # the device's answers do not change
    np.testing.assert_array_equal(micro_conv, reference_conv)
