import pytest
import torch

from kwsauto.export import trace_int8_graph
from kwsauto.models import ModelSpec, create_model


def _graph(arch, width, shape, classes=1000):
    return trace_int8_graph(create_model(ModelSpec(arch, width), classes, shape), shape)


@pytest.mark.parametrize(
    "arch, width, shape, macs_m, params_m",
    [
        ("mobilenetv2", 1.0, (3, 224, 224), 300, 3.47),  # Sandler et al. 2018, Table 3
        ("mobilenetv1", 1.0, (3, 224, 224), 569, 4.24),  # Howard et al. 2017, Table 8
        ("mobilenetv1", 0.25, (3, 128, 128), 14, 0.47),
    ],
)
def test_macs_and_params_match_published_tables(arch, width, shape, macs_m, params_m):
    graph = _graph(arch, width, shape)
    assert graph.macs / 1e6 == pytest.approx(macs_m, rel=0.04)  # published figures are rounded (14 M: 13.5-14.5)
    assert graph.params / 1e6 == pytest.approx(params_m, rel=0.03)


def test_dscnn_macs_match_mlperf_tiny():
    graph = _graph("dscnn", 1.0, (1, 49, 10), classes=12)
    assert graph.macs == pytest.approx(2.66e6, rel=0.01)


def test_graph_ops_are_tflm_builtins_with_fusion():
    graph = _graph("mobilenetv2", 0.35, (1, 49, 40), classes=4)
    kinds = {op.kind for op in graph.ops}
    assert kinds == {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX"}
    assert graph.ops[0].activation == "RELU6" and graph.ops[-1].kind == "SOFTMAX"
    assert graph.tensors[graph.input].shape == (1, 49, 40, 1)  # NHWC
    lifetimes = graph.lifetimes()
    assert lifetimes[graph.input][0] == 0 and lifetimes[graph.output][1] == len(graph.ops) - 1


def test_classifier_head_is_written_as_convs_then_reshaped():
    """Pooled features → dense → logits are 1x1 CONV_2Ds, reshaped to [1, classes] for the SOFTMAX (issue 11)."""
    graph = trace_int8_graph(create_model(ModelSpec("dscnn", 0.25, head_units=16), 5, (1, 49, 10)), (1, 49, 10))
    tail = graph.ops[-5:]
    assert [op.kind for op in tail] == ["AVERAGE_POOL_2D", "CONV_2D", "CONV_2D", "RESHAPE", "SOFTMAX"]
    dense, logits = tail[1], tail[2]
    channels = graph.tensors[tail[0].output].shape[-1]
    assert dense.weight_shape == (16, 1, 1, channels) and dense.activation == "RELU" and dense.padding == "VALID"
    assert logits.weight_shape == (5, 1, 1, 16) and logits.macs == 16 * 5
    assert graph.tensors[logits.output].shape == (1, 1, 1, 5) and graph.tensors[graph.output].shape == (1, 5)
    assert "FULLY_CONNECTED" not in {op.kind for op in graph.ops}


def test_linear_on_a_flattened_map_is_one_conv_over_the_map():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, stride=2, padding=1), torch.nn.Flatten(1), torch.nn.Linear(4 * 25 * 5, 3))
    graph = trace_int8_graph(model, (1, 49, 10))
    assert [op.kind for op in graph.ops] == ["CONV_2D", "CONV_2D", "RESHAPE", "SOFTMAX"]
    assert graph.ops[1].weight_shape == (3, 25, 5, 4) and graph.ops[1].padding == "VALID"
