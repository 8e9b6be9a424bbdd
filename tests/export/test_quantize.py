"""Post-training int8 quantization: TFLite's int8 scheme, BatchNorm folding, calibrated activation ranges."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from kwsauto.errors import ConfigError
from kwsauto.export._graph import trace_int8_graph
from kwsauto.export._quantize import QuantizedGraph, placeholder_quantized_graph, quantize_graph
from kwsauto.models import ModelSpec, create_model

INPUT_SHAPE = (1, 49, 10)  # odd frames, even coefficients: stride-2 convs get TF SAME's asymmetric padding
SPECS = {
    "mobilenetv1": ModelSpec("mobilenetv1", 0.1),
    "mobilenetv2": ModelSpec("mobilenetv2", 0.1),
    "dscnn": ModelSpec("dscnn", 0.25, head_units=16),
}


def _randomize_batchnorm(model: nn.Module, seed: int) -> nn.Module:
    """Give every BatchNorm non-trivial statistics and affine parameters, so folding is really exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
                m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=g))
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.6 * torch.rand(n, generator=g) - 0.3)
    return model.eval()


@pytest.fixture(scope="module", params=sorted(SPECS))
def quantized(request: pytest.FixtureRequest) -> tuple[str, nn.Module, QuantizedGraph, torch.Tensor]:
    """``(arch, model, its quantized graph, calibration features)`` for an untrained model with random BatchNorm."""
    torch.manual_seed(0)
    model = _randomize_batchnorm(create_model(SPECS[request.param], 4, INPUT_SHAPE), seed=1)
    calibration = torch.rand(32, *INPUT_SHAPE)  # [n, 1, frames, coeffs], MFE-like values in [0, 1)
    graph = trace_int8_graph(model, INPUT_SHAPE)
    return request.param, model, quantize_graph(model, graph, calibration), calibration


def test_weights_symmetric_int8_per_output_channel(quantized) -> None:
    _, _, qgraph, _ = quantized
    weighted = [qop for qop in qgraph.ops if qop.weights is not None]
    assert {qop.spec.kind for qop in weighted} == {"CONV_2D", "DEPTHWISE_CONV_2D"}  # the head too: 1x1 convs
    for qop in weighted:
        q, wq = qop.weights, qop.weight_quant
        assert q.dtype == np.int8 and q.shape == qop.spec.weight_shape
        assert q.min() >= -127 and set(wq.zero_point) == {0}
        axis = 3 if qop.spec.kind == "DEPTHWISE_CONV_2D" else 0
        assert wq.axis == axis and len(wq.scale) == q.shape[axis]
        per_channel_max = np.abs(np.moveaxis(q, axis, 0).reshape(q.shape[axis], -1)).max(axis=1)
        assert (per_channel_max == 127).all(), qop.spec.name  # each channel uses its full range


def test_bias_int32_with_input_times_weight_scale(quantized) -> None:
    _, _, qgraph, _ = quantized
    for qop in qgraph.ops:
        if qop.weights is None:
            assert qop.bias is None
            continue
        in_scale = qgraph.activations[qop.spec.inputs[0]].scale[0]
        assert qop.bias.dtype == np.int32 and qop.bias.shape == (qop.spec.bias_size,)
        assert set(qop.bias_quant.zero_point) == {0} and qop.bias_quant.axis == 0
        np.testing.assert_allclose(
            qop.bias_quant.scale, np.array(qop.weight_quant.scale) * in_scale, rtol=1e-6
        )


def test_stem_folds_batchnorm(quantized) -> None:
    """Dequantized stem weights and bias reproduce conv + BatchNorm of the float model."""
    _, model, qgraph, calibration = quantized
    stem = copy.deepcopy(model.backbone.features[0])  # conv (maybe behind ZeroPad2d), BatchNorm, ReLU6
    with torch.no_grad():
        reference = stem[1](stem[0](calibration))
        qop = qgraph.ops[0]
        conv = next(m for m in stem[0].modules() if isinstance(m, nn.Conv2d))
        scale = torch.tensor(qop.weight_quant.scale).reshape(-1, 1, 1, 1)
        conv.weight.copy_(torch.from_numpy(qop.weights.astype(np.float32)).permute(0, 3, 1, 2) * scale)
        conv.bias = nn.Parameter(torch.from_numpy(qop.bias.astype(np.float64) * qop.bias_quant.scale).float())
        folded = stem[0](calibration)
    assert (folded - reference).abs().max() < 0.02 * reference.abs().max()


def test_activation_quantization_follows_tflite_rules(quantized) -> None:
    _, _, qgraph, calibration = quantized
    graph = qgraph.graph

    def real_range(t: int) -> tuple[float, float]:
        p = qgraph.activations[t]
        return p.scale[0] * (-128 - p.zero_point[0]), p.scale[0] * (127 - p.zero_point[0])

    lo, hi = real_range(graph.input)
    assert lo <= 0.0 and lo <= calibration.min() and hi >= calibration.max() - qgraph.input_quant.scale[0]
    assert qgraph.output_quant.scale == (1 / 256,) and qgraph.output_quant.zero_point == (-128,)
    for op in graph.ops:
        params = qgraph.activations[op.output]
        assert len(params.scale) == 1 and -128 <= params.zero_point[0] <= 127
        if op.kind in ("AVERAGE_POOL_2D", "RESHAPE"):
            assert params == qgraph.activations[op.inputs[0]]
        if op.activation in ("RELU", "RELU6"):
            assert params.zero_point[0] == -128  # the range starts at 0
        if op.activation == "RELU6":
            assert real_range(op.output)[1] <= 6.0 + 1e-6


def test_residual_add_has_its_own_output_scale(quantized) -> None:
    arch, _, qgraph, _ = quantized
    adds = [op for op in qgraph.graph.ops if op.kind == "ADD"]
    assert bool(adds) == (arch == "mobilenetv2")
    for op in adds:
        out = qgraph.activations[op.output]
        assert out not in (qgraph.activations[op.inputs[0]], qgraph.activations[op.inputs[1]])


def test_input_scale_follows_calibration_data(quantized) -> None:
    _, model, qgraph, calibration = quantized
    doubled = quantize_graph(model, qgraph.graph, 2 * calibration)
    assert doubled.input_quant.scale[0] == pytest.approx(2 * qgraph.input_quant.scale[0], rel=1e-6)


def test_placeholder_has_the_same_shapes(quantized) -> None:
    _, _, qgraph, _ = quantized
    placeholder = placeholder_quantized_graph(qgraph.graph)
    for a, b in zip(qgraph.ops, placeholder.ops):
        assert (a.weights is None) == (b.weights is None)
        if a.weights is not None:
            assert a.weights.shape == b.weights.shape and a.bias.shape == b.bias.shape
            assert (
                len(a.weight_quant.scale) == len(b.weight_quant.scale)
                and a.weight_quant.axis == b.weight_quant.axis
            )
            assert len(a.bias_quant.scale) == len(b.bias_quant.scale)
    assert [len(p.scale) for p in qgraph.activations] == [len(p.scale) for p in placeholder.activations]


def test_calibration_must_be_a_batch_of_features() -> None:
    model = create_model(SPECS["dscnn"], 4, INPUT_SHAPE).eval()
    graph = trace_int8_graph(model, INPUT_SHAPE)
    with pytest.raises(ConfigError, match=r"\[n, 1, frames, coeffs\]"):
        quantize_graph(model, graph, torch.rand(*INPUT_SHAPE))
