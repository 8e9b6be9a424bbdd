import pytest

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
    assert kinds == {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"}
    assert graph.ops[0].activation == "RELU6" and graph.ops[-1].kind == "SOFTMAX"
    assert graph.tensors[graph.input].shape == (1, 49, 40, 1)  # NHWC
    lifetimes = graph.lifetimes()
    assert lifetimes[graph.input][0] == 0 and lifetimes[graph.output][1] == len(graph.ops) - 1
