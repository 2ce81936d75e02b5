import numpy as np

from tinycore.ir import Graph


def case_inputs(graph: Graph, seed: int, n_random: int = 3) -> list[np.ndarray]:
    """Random int8 inputs plus the two constant extremes (all -128, all 127): saturation and zero-point edges."""
    rng = np.random.default_rng(seed)
    shape = graph.input_tensor().shape
    xs = [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(n_random)]
    return xs + [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)]
