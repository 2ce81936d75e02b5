"""MCUFormer memory techniques on a DeiT-Tiny-shaped int8 ViT: one JSON line per schedule.

The model is `tinycore.spec.zoo.vit` at DeiT-Tiny's shape (224 px, 16 px patches -> 196 tokens, width 192, 3 heads,
MLP 4x, 12 blocks) with mean pooling and no position embedding (what `tinycore.quant.quantize_vit` converts; DeiT
itself has a class token and position embeddings: the same tensors within one token). Random weights, calibrated
on random inputs: only the memory figures mean something. Schedules: all heads at once or one head at a time
(`per_head`), each planned with and without in-place ops (token overwriting, LayerNorm/GELU/add in place).
Usage: python bench/former_memory.py [--depth 12] [--resolution 224]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--resolution", type=int, default=224)
    args = p.parse_args()

    import torch

    from tinycore.memory import plan_graph
    from tinycore.quant import quantize_vit
    from tinycore.spec import build_model
    from tinycore.spec.zoo import vit

    torch.manual_seed(0)
    spec = vit(192, args.depth, 3, 16, args.resolution, 1000, 4, 1.0, False, pos_embed=False,
               name="deit_tiny_meanpool")
    model = build_model(spec).eval()
    calibration = torch.randn(2, 3, args.resolution, args.resolution)
    for per_head in (False, True):
        t0 = time.time()
        graph = quantize_vit(model, calibration, per_head=per_head)
        for inplace in (False, True):
            plan = plan_graph(graph, allow_inplace=inplace)
            peak = plan.peak_layer
            print(json.dumps({"bench": "former_memory", "model": spec.name, "depth": args.depth,
                              "resolution": args.resolution, "per_head": per_head, "inplace": inplace,
                              "arena_bytes": plan.arena_bytes, "lower_bound_bytes": plan.lower_bound_bytes,
                              "peak_op": peak.name if peak else None, "n_ops": len(graph.ops),
                              "seconds": round(time.time() - t0, 1)}), flush=True)


if __name__ == "__main__":
    main()
