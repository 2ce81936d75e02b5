"""reshape cases: the output aliases the input; the bytes must come out unchanged."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, single_op, zero_point
from tinycore.ir import Graph


@dataclass(frozen=True)
class ReshapeCase:
    name: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]

    def make(self, seed: int) -> Graph:
        zp = zero_point(np.random.default_rng(seed))
        return single_op("reshape", act("x", self.in_shape, zp), [], dict(shape=list(self.out_shape)), zp)


RESHAPE_CASES = [
    ReshapeCase("flatten", (1, 4, 4, 3), (1, 48)),
    ReshapeCase("unflatten", (1, 30), (1, 5, 2, 3)),
    ReshapeCase("regroup", (1, 2, 3, 4), (1, 4, 6, 1)),
]
