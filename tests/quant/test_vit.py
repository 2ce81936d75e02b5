"""A ViT spec, built to torch, quantized to an int8 graph: close to float, and runtime == host C == QEMU."""
import numpy as np
import pytest
import torch

from tests.export.conftest import case_inputs
from tinycore.export.batch import run_models_on_host
from tinycore.export.firmware import validate_on_board
from tinycore.memory import plan_graph
from tinycore.quant.vit import quantize_vit
from tinycore.runtime import run
from tinycore.runtime.fixedpoint import quantize_float_s8
from tinycore.spec import build_model
from tinycore.spec.zoo import vit


@pytest.fixture(scope="module")
def model_and_graph():
    torch.manual_seed(0)
    spec = vit(dim=16, depth=2, heads=2, patch=8, resolution=32, classes=4, pos_embed=False, rank_ratio=0.5)
    model = build_model(spec).eval()
    return model, quantize_vit(model, torch.randn(64, 3, 32, 32))


def test_int8_vit_follows_float(model_and_graph):
    model, g = model_and_graph
    x_t, y_t = g.tensors["input"], g.tensors[g.outputs[0]]
    test = torch.randn(32, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = model(test).numpy()
    got = np.array([y_t.scale[0] * (run(g, quantize_float_s8(x.permute(1, 2, 0).numpy()[None], x_t.scale[0],
                                                                 x_t.zero_point)).astype(np.float64).reshape(-1)
                                     - y_t.zero_point) for x in test])
    assert np.abs(got - want).mean() / want.std() < 0.03  # measured 0.008
    assert np.mean(got.argmax(1) == want.argmax(1)) >= 0.9  # measured 0.97
    kinds = {op.kind for op in g.ops}
    assert {"layer_norm_s8", "gelu_s8", "batch_matmul_s8", "softmax_s8", "transpose_s8"} <= kinds
    assert any(op.name.endswith(".fc1.v") for op in g.ops)  # the low-rank MLP expansion is two FCs


def test_int8_vit_host_c_equals_runtime(model_and_graph, tmp_path):
    """Also the patch-embedding decomposition: token rows written over the input rows already read (the plan
    chooses it here; the firmware tests below run the same graph on both boards)."""
    _, g = model_and_graph
    plan, first = plan_graph(g), plan_graph(g).per_layer[0]
    assert plan.inplace["patch"] and first.live_bytes < first.input_bytes + first.output_bytes + first.scratch_bytes
    assert plan.arena_bytes < plan_graph(g, allow_inplace=False).arena_bytes  # 4,864 B against 5,056 B
    xs = case_inputs(g, seed=4)
    (outs,) = run_models_on_host([(g, xs)], tmp_path, sanitize=True)
    for x, o in zip(xs, outs):
        np.testing.assert_array_equal(o, run(g, x).reshape(-1))


@pytest.mark.firmware
@pytest.mark.parametrize("board,per_head", [("mps2-an386", False), ("mps2-an500", True)])
def test_int8_vit_firmware_equals_runtime(model_and_graph, board, per_head):
    model, g = model_and_graph
    if per_head:
        g = quantize_vit(model, torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(0)), per_head=True)
    r = validate_on_board(g, board, n=2, seed=3)
    assert r["outputs_match"] is True and r["max_abs_diff"] == 0
    assert r["arena_bytes"] == plan_graph(g).arena_bytes == r["arena_symbol_bytes"]


@pytest.fixture(scope="module")
def deit_like():
    """Position embedding, class token and class-token pooling (DeiT's head), with non-zero learned constants."""
    torch.manual_seed(0)
    model = build_model(vit(dim=16, depth=2, heads=2, patch=8, resolution=32, classes=4, class_token=True)).eval()
    with torch.no_grad():
        for p in (model.stem[0].pos, model.stem[1].token, model.stem[1].pos):
            p.normal_(0, 0.5)
    return model, quantize_vit(model, torch.randn(64, 3, 32, 32), per_head=True)


def test_position_embedding_and_class_token_in_the_int8_graph(deit_like, tmp_path):
    model, g = deit_like
    kinds = [op.kind for op in g.ops]
    assert kinds[:4] == ["conv2d_s8", "reshape", "add_s8", "concatenation_s8"]
    assert g.tensors["pos_embed"].is_constant and g.tensors["class_token"].shape == (1, 1, 16)
    assert g.tensors["tokens.cls"].shape == (1, 17, 16) and g.tensors["head.cls"].shape == (1, 1, 16)
    x_t, y_t = g.tensors["input"], g.tensors[g.outputs[0]]
    test = torch.randn(32, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    xs = [quantize_float_s8(x.permute(1, 2, 0).numpy()[None], x_t.scale[0], x_t.zero_point) for x in test]
    with torch.no_grad():
        want = model(test).numpy()
    got = np.array([y_t.scale[0] * (run(g, x).astype(np.float64).reshape(-1) - y_t.zero_point) for x in xs])
    assert np.abs(got - want).mean() / want.std() < 0.05 and np.mean(got.argmax(1) == want.argmax(1)) >= 0.9
    seen = {}
    run(g, xs[0], observe=lambda op, y: seen.__setitem__(op.name, y))
    pick = next(op for op in g.ops if op.name == "head.cls")  # the one-hot batch_matmul copies token 0 exactly
    np.testing.assert_array_equal(seen["head.cls"].reshape(-1), seen[pick.inputs[1]].reshape(17, 16)[0])
    (outs,) = run_models_on_host([(g, xs[:3])], tmp_path, sanitize=True)
    for x, o in zip(xs[:3], outs):
        np.testing.assert_array_equal(o, run(g, x).reshape(-1))


@pytest.mark.firmware
@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an500"])
def test_position_embedding_and_class_token_firmware(deit_like, board):
    _, g = deit_like
    r = validate_on_board(g, board, n=2, seed=3)
    assert r["outputs_match"] is True and r["max_abs_diff"] == 0


@pytest.fixture(scope="module")
def wide_model():
    torch.manual_seed(0)
    spec = vit(dim=32, depth=1, heads=4, patch=4, resolution=32, classes=4, pos_embed=False, mlp_ratio=4,
               rank_ratio=0.5)
    return build_model(spec).eval(), torch.randn(64, 3, 32, 32)


def test_per_head_schedule_shrinks_the_arena_and_keeps_accuracy(wide_model, tmp_path):
    """64 tokens, 4 heads: one head's (64, 64) scores live at a time instead of all four."""
    model, cal = wide_model
    whole, per_head = quantize_vit(model, cal), quantize_vit(model, cal, per_head=True)
    assert plan_graph(whole).arena_bytes == 36_864 and plan_graph(per_head).arena_bytes == 14_848
    assert plan_graph(per_head, allow_inplace=False).arena_bytes == 18_432  # token overwriting saves the rest
    test = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    x_t = per_head.tensors["input"]
    xs = [quantize_float_s8(x.permute(1, 2, 0).numpy()[None], x_t.scale[0], x_t.zero_point) for x in test]
    a = np.array([run(whole, x).reshape(-1) for x in xs]).astype(int)
    b = np.array([run(per_head, x).reshape(-1) for x in xs]).astype(int)
    assert np.mean(a.argmax(1) == b.argmax(1)) >= 0.9 and np.abs(a - b).mean() < 3  # a few more roundings only
    (outs,) = run_models_on_host([(per_head, xs[:3])], tmp_path, sanitize=True)
    for x, o in zip(xs[:3], outs):
        np.testing.assert_array_equal(o, run(per_head, x).reshape(-1))


def test_per_head_schedule_with_a_low_rank_output_projection(tmp_path):
    """rank 0.25 factorizes the attention's output projection too: per head, V's columns of that head, the rank-r
    parts summed, then U once; outputs stay those of the whole schedule up to a few roundings."""
    torch.manual_seed(0)
    spec = vit(dim=32, depth=1, heads=2, patch=8, resolution=32, classes=4, pos_embed=False, rank_ratio=0.25)
    model, cal = build_model(spec).eval(), torch.randn(64, 3, 32, 32)
    whole, per_head = quantize_vit(model, cal), quantize_vit(model, cal, per_head=True)
    names = {op.name for op in per_head.ops}
    assert {"blocks.0.proj.v.h0", "blocks.0.proj.v.h1", "blocks.0.proj.u"} <= names
    test = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    x_t = per_head.tensors["input"]
    xs = [quantize_float_s8(x.permute(1, 2, 0).numpy()[None], x_t.scale[0], x_t.zero_point) for x in test]
    a = np.array([run(whole, x).reshape(-1) for x in xs]).astype(int)
    b = np.array([run(per_head, x).reshape(-1) for x in xs]).astype(int)
    assert np.mean(a.argmax(1) == b.argmax(1)) >= 0.9 and np.abs(a - b).mean() < 3
    (outs,) = run_models_on_host([(per_head, xs[:3])], tmp_path, sanitize=True)
    for x, o in zip(xs[:3], outs):
        np.testing.assert_array_equal(o, run(per_head, x).reshape(-1))
