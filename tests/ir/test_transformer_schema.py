"""Transformer ops refuse bad graphs with typed errors that name the op, the field and the limit."""
import numpy as np
import pytest

from tests.cases.transformer import BatchMatmulCase, LayerNormCase, TransposeCase
from tinycore.errors import GraphValidationError, UnsupportedError
from tinycore.export import generate_c
from tinycore.ir import validate_graph


def test_transpose_perm_must_be_a_permutation():
    g = TransposeCase("t", shape=(1, 2, 3), perm=(0, 2, 1)).make(0)
    g.ops[0].attrs["perm"] = [0, 2, 2]
    with pytest.raises(GraphValidationError, match="'perm' must be a permutation"):
        validate_graph(g)


def test_batch_matmul_k_mismatch_names_both_shapes():
    g = BatchMatmulCase("m", a_shape=(1, 2, 3, 4), transpose_b=True).make(0)
    g.ops[-1].attrs["transpose_b"] = 0  # b (1, 2, 3, 4) untransposed: K = 3 against a's 4
    with pytest.raises(GraphValidationError, match=r"a has K = 4, b has K = 3"):
        validate_graph(g)


def test_layer_norm_gamma_must_match_the_last_axis():
    g = LayerNormCase("ln", shape=(1, 3, 8)).make(0)
    g.tensors["gamma"].shape = (7,)
    g.tensors["gamma"].data = np.zeros(7, np.int8)
    with pytest.raises(GraphValidationError, match=r"gamma and bias of shape \(8,\)"):
        validate_graph(g)


def test_layer_norm_bias_beyond_the_int32_sum_is_refused(tmp_path):
    g = LayerNormCase("ln", shape=(1, 3, 8)).make(0)
    g.tensors["bias"].data[2] = 2**31 - 1
    with pytest.raises(UnsupportedError, match=r"layer_norm_s8 'layer_norm_s8': \|bias\| reaches 2,147,483,647"):
        generate_c(g, tmp_path / "m")
