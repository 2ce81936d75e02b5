"""TC-ResNet (1-D convs over time with the features as channels, (9, 1) kernels with stride (2, 1), strided 1x1
projection shortcuts, ReLU after the add) quantized from torch: host C byte for byte the numpy runtime, and the
integer graph close to the float model it came from."""
import numpy as np
import torch

from tests.export.conftest import case_inputs
from tinycore.export.batch import run_models_on_host
from tinycore.quant import dequantize_output, quantize, quantize_input
from tinycore.runtime import run
from tinycore.spec import build_model, tc_resnet


def _quantized(depth: int, width: float, seed: int):
    torch.manual_seed(seed)
    model = build_model(tc_resnet(depth, width)).eval()
    for m in model.modules():  # BN statistics away from (0, 1), or the folded convs are the raw random ones
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2), m.running_var.uniform_(0.5, 2.0), m.bias.data.uniform_(-0.3, 0.3)
    calib = [torch.randn(16, 1, 49, 10) for _ in range(2)]
    return model, quantize(model, calib)


def test_tc_resnet_graphs_host_c_equals_runtime(tmp_path):
    graphs = [_quantized(8, 1.0, 0)[1], _quantized(14, 0.5, 1)[1]]
    kinds = {op.kind for g in graphs for op in g.ops}
    assert {"conv2d_s8", "add_s8"} <= kinds  # the strided (9, 1) convs and the residual adds
    models = [(g, case_inputs(g, seed=20 + i, n_random=3)) for i, g in enumerate(graphs)]
    outs = run_models_on_host(models, tmp_path)
    for i, ((g, xs), got) in enumerate(zip(models, outs)):
        for k, (x, o) in enumerate(zip(xs, got)):
            np.testing.assert_array_equal(o, run(g, x).reshape(-1), err_msg=f"graph {i} input {k}")


def test_tc_resnet_integer_graph_follows_the_float_model():
    model, graph = _quantized(8, 1.0, 2)
    x = torch.randn(32, 1, 49, 10)
    want = model(x).detach().numpy()
    q = quantize_input(graph, x.numpy())
    got = np.concatenate([dequantize_output(graph, run(graph, qi[None])) for qi in q])
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err < 0.05, err  # int8 through 10 convs, 3 adds and the FC: about 1 % of the largest logit (0.9 % measured)
