"""The int8 ONNX model: written from the same quantized graph as the .tflite file, it is the same model.

Each architecture is trained for a few seconds on synthetic spectrograms (shared with ``test_tflite``), quantized
once, and written both as .tflite and as QDQ ONNX. The ONNX model runs in ONNX Runtime; op by op, on the same int8
inputs, it matches LiteRT's reference kernels within one int8 step, and end to end its decisions agree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from kwsauto.errors import ConfigError, KwsautoError
from kwsauto.export._graph import trace_int8_graph
from kwsauto.export._onnx import onnx_predict
from kwsauto.export._onnx_int8 import OPSET, int8_agreement, read_onnx_metadata, write_onnx_int8
from kwsauto.export._quantize import QuantizedGraph, placeholder_quantized_graph, quantize_graph
from kwsauto.export._tflite import read_tflite_metadata, write_tflite
from kwsauto.export._verify import (
    dequantize_outputs,
    quantize_features,
    run_litert,
    run_tflm,
    tflite_io_quant,
)
from kwsauto.models import create_model
from kwsauto.models._same_padding import tf_same_pads
from tests.export._synthetic import FEATURES, INPUT_SHAPE, LABELS, SPECS, synthetic_spectrograms, train_small
from tests.export.conftest import TrainedExport

STEP = 1 / 256  # one int8 step of the softmax output


@dataclass
class Exported:
    arch: str
    qgraph: QuantizedGraph
    tflite: Path
    onnx: Path
    features: torch.Tensor  # [n, 1, frames, coeffs] test clips
    litert_probs: np.ndarray  # [n, classes], dequantized int8 outputs of LiteRT's reference kernels
    onnx_probs: np.ndarray  # [n, classes] from ONNX Runtime


@pytest.fixture(scope="module")
def exported(trained_export: TrainedExport) -> Exported:
    t = trained_export
    litert = dequantize_outputs(t.tflite, run_litert(t.tflite, quantize_features(t.tflite, t.x_test.numpy())))
    return Exported(t.arch, t.qgraph, t.tflite, t.onnx, t.x_test, litert, onnx_predict(t.onnx, t.x_test))


def test_top1_agrees_with_litert(exported: Exported) -> None:
    """End to end the decisions agree; the exact check is op by op (``test_each_op_within_one_step_of_tflite``).

    One-step rounding differences compound through the ops: in MobileNetV2 at width 0.1 (about 60 ops), with every
    op within one step of LiteRT's, single clips were seen 131 steps apart at the output. How many clips flip then
    depends on the trained weights, which depend on the machine's float kernels (thread count, ISA): 0.993 to 1.0
    over four seeds here, 0.973 once in CI. A wrong layout, padding or scale agrees near chance (0.25).
    """
    probs = exported.onnx_probs
    assert probs.dtype == np.float32 and probs.shape == (300, len(LABELS))
    assert int8_agreement(probs, exported.litert_probs) >= 0.95


def test_probabilities_are_int8_steps_close_to_litert(exported: Exported) -> None:
    probs = exported.onnx_probs
    assert np.allclose(probs / STEP, np.round(probs / STEP), atol=1e-3)  # dequantized int8 softmax
    diff = np.abs(probs - exported.litert_probs)  # [n, classes]
    assert diff.mean() <= STEP
    assert (diff.max(axis=1) <= 3 * STEP + 1e-6).mean() >= 0.9


def _litert_tensors(path: Path, int8_inputs: np.ndarray, n_tensors: int) -> list[np.ndarray]:
    """The first ``n_tensors`` tensors of the .tflite model (the graph's activations, by index), each ``[n, ...]``."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path),
        num_threads=1,
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    runs = []
    for x in int8_inputs:
        interpreter.set_tensor(inp["index"], x.reshape(inp["shape"]))
        interpreter.invoke()
        runs.append([interpreter.get_tensor(i).copy() for i in range(n_tensors)])
    return [np.concatenate(values) for values in zip(*runs)]


def _nchw(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 3, 1, 2) if x.ndim == 4 else x


def test_each_op_within_one_step_of_tflite(exported: Exported) -> None:
    """Fed LiteRT's own int8 inputs, every ONNX op lands within one int8 step of LiteRT's output.

    The steps are rounding (TFLite's fixed-point double rounding, ONNX's round half to even); a wrong weight
    layout, padding or scale would be off by many steps on many elements.
    """
    import onnxruntime as ort
    from onnx.utils import Extractor

    graph = exported.qgraph.graph
    int8_inputs = quantize_features(exported.tflite, exported.features[:40].numpy())
    tensors = _litert_tensors(exported.tflite, int8_inputs, len(graph.tensors))
    extractor = Extractor(onnx.shape_inference.infer_shapes(onnx.load(str(exported.onnx))))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    mismatched = total = 0
    for op in graph.ops:
        names = [f"{graph.tensors[t].name}/int8" for t in op.inputs]
        sub = extractor.extract_model(names, [f"{graph.tensors[op.output].name}/int8"])
        session = ort.InferenceSession(sub.SerializeToString(), options, providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {n: _nchw(tensors[t]) for n, t in zip(names, op.inputs)})
        diff = np.abs(out.astype(np.int32) - _nchw(tensors[op.output]).astype(np.int32))
        assert diff.max() <= 1, (op.kind, op.name)
        if op.kind != "AVERAGE_POOL_2D":  # a mean of 4 values ties often; TFLite and ONNX break ties apart
            mismatched, total = mismatched + int((diff > 0).sum()), total + diff.size
    assert mismatched / total < 0.01


def test_quantization_is_the_tflite_files(exported: Exported) -> None:
    from onnx import numpy_helper

    model = onnx.load(str(exported.onnx))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    (in_scale, in_zero), (out_scale, out_zero) = tflite_io_quant(exported.tflite)
    assert (float(init["input/scale"]), int(init["input/zero_point"])) == (in_scale, in_zero)
    assert (float(init["probabilities/scale"]), int(init["probabilities/zero_point"])) == (
        out_scale,
        out_zero,
    )
    assert (out_scale, out_zero) == (1 / 256, -128)
    for qop in exported.qgraph.ops:
        if qop.weights is None:
            continue
        name, kind = qop.spec.name, qop.spec.kind
        weights = init[f"{name}/weights/quantized"]
        layout = {"CONV_2D": (0, 3, 1, 2), "DEPTHWISE_CONV_2D": (3, 0, 1, 2), "FULLY_CONNECTED": (0, 1)}[kind]
        np.testing.assert_array_equal(weights, qop.weights.transpose(layout))
        assert weights.dtype == np.int8 and init[f"{name}/bias/quantized"].dtype == np.int32
        np.testing.assert_array_equal(init[f"{name}/bias/quantized"], qop.bias)
        np.testing.assert_allclose(init[f"{name}/weights/scale"], qop.weight_quant.scale, rtol=1e-7)
        np.testing.assert_allclose(init[f"{name}/bias/scale"], qop.bias_quant.scale, rtol=1e-7)


def test_graph_is_valid_qdq_with_tf_same_pads(exported: Exported) -> None:
    model = onnx.load(str(exported.onnx))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    dims = [
        [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in (*model.graph.input, *model.graph.output)
    ]
    assert dims == [["batch", *INPUT_SHAPE], ["batch", len(LABELS)]]
    graph, nodes = exported.qgraph.graph, list(model.graph.node)
    kinds = [op.kind for op in graph.ops]
    counts = {
        t: sum(n.op_type == t for n in nodes) for t in ("Conv", "Add", "Gemm", "Softmax", "QuantizeLinear")
    }
    assert counts["Conv"] == kinds.count("CONV_2D") + kinds.count("DEPTHWISE_CONV_2D")
    assert counts["Add"] == kinds.count("ADD") and (counts["Add"] > 0) == (exported.arch == "mobilenetv2")
    assert counts["Gemm"] == kinds.count("FULLY_CONNECTED") and counts["Softmax"] == 1
    assert counts["QuantizeLinear"] == len(graph.ops) + 1  # every op's output and the input
    convs = {n.name.removesuffix("/float"): n for n in nodes if n.op_type == "Conv"}
    asymmetric = 0
    for op in graph.ops:
        if op.kind not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in convs[op.name].attribute}
        _, h, w, c = graph.tensors[op.inputs[0]].shape
        kh, kw = attrs["kernel_shape"]
        top, bottom = tf_same_pads(h, kh, op.stride[0]) if op.padding == "SAME" else (0, 0)
        left, right = tf_same_pads(w, kw, op.stride[1]) if op.padding == "SAME" else (0, 0)
        assert "auto_pad" not in attrs and attrs["pads"] == [top, left, bottom, right]
        assert attrs["group"] == (c if op.kind == "DEPTHWISE_CONV_2D" else 1)
        asymmetric += (top, left) != (bottom, right)
    assert asymmetric > 0  # 49x10 input: stride-2 convs pad the odd pixel at the bottom/right


def test_batch_size_is_dynamic(exported: Exported) -> None:
    one_by_one = onnx_predict(exported.onnx, exported.features[:5], batch_size=1)
    np.testing.assert_array_equal(one_by_one, exported.onnx_probs[:5])


def test_metadata_round_trips(exported: Exported) -> None:
    expected = {"labels": list(LABELS), "features": FEATURES}
    assert read_onnx_metadata(exported.onnx) == expected == read_tflite_metadata(exported.tflite)


def _dscnn_graph() -> QuantizedGraph:
    model = create_model(SPECS["dscnn"], len(LABELS), INPUT_SHAPE)
    return placeholder_quantized_graph(trace_int8_graph(model, INPUT_SHAPE))


@pytest.mark.parametrize(
    ("kind", "change", "match"),
    [
        ("AVERAGE_POOL_2D", {"kind": "MAX_POOL_2D"}, "MAX_POOL_2D"),
        ("CONV_2D", {"activation": "TANH"}, "TANH"),
    ],
)
def test_op_it_cannot_express_is_one_line_error(kind: str, change: dict, match: str, tmp_path: Path) -> None:
    qgraph = _dscnn_graph()
    ops = list(qgraph.ops)
    i = next(i for i, qop in enumerate(ops) if qop.spec.kind == kind)
    ops[i] = dataclasses.replace(ops[i], spec=dataclasses.replace(ops[i].spec, **change))
    broken = QuantizedGraph(qgraph.graph, qgraph.activations, tuple(ops))
    path = tmp_path / "model_int8.onnx"
    with pytest.raises(ConfigError, match=match) as info:
        write_onnx_int8(broken, path, labels=LABELS, feature_params=FEATURES)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_not_an_onnx_file_is_one_line_error(tmp_path: Path) -> None:
    for name, content in (("notes.onnx", b"not a model\n" * 4), ("empty.onnx", b""), ("missing.onnx", None)):
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(KwsautoError) as info:
            read_onnx_metadata(path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_int8_agreement_counts_matching_top1() -> None:
    a = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    b = np.array([[0.7, 0.3], [0.4, 0.6], [0.1, 0.9], [0.0, 1.0]])
    assert int8_agreement(a, b) == 0.75
    with pytest.raises(ConfigError, match=r"\(4, 2\) and \(3, 2\)"):
        int8_agreement(a, b[:3])


def test_linear_on_a_feature_map_follows_tflite_order(tmp_path: Path) -> None:
    """A linear layer on a flattened map larger than 1x1 is one conv over the map, its weights in NHWC order."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(1),
        torch.nn.Linear(4 * 25 * 5, len(LABELS)),
    )
    x, y = synthetic_spectrograms(128, seed=2)
    train_small(model, x, y, epochs=5)
    qgraph = quantize_graph(model, trace_int8_graph(model, INPUT_SHAPE), x)
    tflite = write_tflite(qgraph, tmp_path / "m.tflite", labels=LABELS, feature_params=FEATURES)
    path = write_onnx_int8(qgraph, tmp_path / "m.onnx", labels=LABELS, feature_params=FEATURES)
    litert = dequantize_outputs(tflite, run_litert(tflite, quantize_features(tflite, x.numpy())))
    probs = onnx_predict(path, x)
    assert np.abs(probs - litert).max() <= STEP + 1e-6
    assert probs.max(axis=1).min() > 0.3  # decided outputs, not a uniform guess that any order would match
    micro = dequantize_outputs(tflite, run_tflm(tflite, quantize_features(tflite, x.numpy())))
    np.testing.assert_array_equal(micro, litert)
    conv = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Conv"][-1]
    assert [list(a.ints) for a in conv.attribute if a.name == "kernel_shape"] == [[25, 5]]
