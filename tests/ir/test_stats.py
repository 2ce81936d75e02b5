"""MAC counts of the integer graph: attention's batch matmuls count, and a ViT's int8 graph adds up to its spec."""
import torch

from tests.cases.transformer import BATCH_MATMUL_CASES
from tinycore.ir.stats import graph_macs, op_macs
from tinycore.quant.vit import quantize_vit
from tinycore.spec import build_model
from tinycore.spec.shapes import model_stats
from tinycore.spec.zoo import vit


def test_batch_matmul_counts_k_per_output():
    for case in BATCH_MATMUL_CASES:
        g = case.make(0)
        (op,) = [o for o in g.ops if o.kind == "batch_matmul_s8"]
        m, k = case.a_shape[-2:]
        heads = 1 if len(case.a_shape) == 3 else case.a_shape[1]
        n = m  # the case's b has M rows (Q·Kᵀ) or M columns (A·V)
        assert op_macs(op, g) == heads * m * n * k, case.name


def test_vit_graph_macs_equal_the_spec_with_per_head_attention():
    """The spec counts Q·Kᵀ and A·V (T·T·D each per block); the graph's total must agree, split by heads or not."""
    torch.manual_seed(0)
    spec = vit(dim=16, depth=2, heads=2, patch=8, resolution=32, classes=4, pos_embed=False, rank_ratio=0.5)
    model = build_model(spec).eval()
    want = model_stats(spec)["macs"]
    for per_head in (False, True):
        g = quantize_vit(model, torch.randn(4, 3, 32, 32), per_head=per_head)
        bm = sum(op_macs(o, g) for o in g.ops if o.kind == "batch_matmul_s8")
        assert bm == 2 * 2 * 16 * 16 * 16  # 2 blocks × (Q·Kᵀ + A·V) × T² × D, T = 16 tokens
        assert graph_macs(g) == want


def test_class_token_pooling_counts_the_one_hot_row():
    """Class-token pooling is a batch matmul of a constant one-hot row (1, T) with the tokens (T, D): the kernel does
    those T·D MACs, which the spec (pooling = no MACs) does not count."""
    torch.manual_seed(0)
    spec = vit(dim=16, depth=2, heads=2, patch=8, resolution=32, classes=4, class_token=True, rank_ratio=0.5)
    g = quantize_vit(build_model(spec).eval(), torch.randn(4, 3, 32, 32))
    assert graph_macs(g) - model_stats(spec)["macs"] == 17 * 16  # 16 patches + the class token, D = 16
