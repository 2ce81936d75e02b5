"""MCUFormer memory techniques on a DeiT-Tiny-shaped int8 ViT: one JSON line per (model, technique set).

Models: `deit_tiny` (224 px, 16 px patches -> 196 tokens + a class token, width 192, 3 heads, MLP 4x, 12 blocks,
position embeddings: DeiT's own shape), `deit_tiny_meanpool` (the same without class token and position
embedding), and with --spec a searched model (e.g. a `search --family former` run's spec.json). Random weights
calibrated on random inputs: only the memory figures mean something.

Technique sets, each planned by tinycore.memory (the arena the firmware gets):
  int8            per-layer int8, nothing in place, all heads at once
  +inplace        token overwriting (per-token FCs) and in-place LayerNorm / GELU / add
  +patch          patch-embedding decomposition (token rows written over input rows already read)
  +per_head       attention one head at a time
  all             everything
`patch_embed_bytes` is what the patch embedding op itself needs under the set (input + tokens + scratch, or with
the decomposition input + one token row + scratch); `arena_bytes` is the whole plan's peak, which falls only when
the patch embedding is the peak layer. Usage: python bench/former_memory.py [--depth 12] [--spec run/spec.json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETS = {"int8": (False, False, False), "+inplace": (True, False, False), "+patch": (False, True, False),
        "+per_head": (False, False, True), "all": (True, True, True)}  # (in place, patch rows, per head)


def plan_with(graph, inplace: bool, patch: bool):
    """The arena plan with only the chosen in-place kinds allowed (the schedule's other candidates dropped)."""
    from tinycore.memory.graph_plan import graph_schedule
    from tinycore.memory.schedule import plan_schedule

    sch = graph_schedule(graph)
    steps = tuple(s if (s.opt_in and patch) or (not s.opt_in and inplace) else dataclasses.replace(s, candidates=())
                  for s in sch.steps)
    return plan_schedule(dataclasses.replace(sch, steps=steps), allow_inplace=inplace or patch)


def patch_embed_bytes(graph, decomposed: bool) -> int:
    from tinycore.memory.rules import patch_rows, scratch_bytes

    op = graph.ops[0]
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if decomposed and patch_rows(op, graph) is not None:
        return x.nbytes + scratch_bytes(op, graph, True)
    return x.nbytes + y.nbytes + scratch_bytes(op, graph, False)


def models(args):
    from tinycore.spec import spec_from_json
    from tinycore.spec.zoo import deit_tiny, vit

    out = [deit_tiny(1000, args.resolution) if args.depth == 12 else
           vit(192, args.depth, 3, 16, args.resolution, 1000, 4, 1.0, True, name="deit_tiny"),
           vit(192, args.depth, 3, 16, args.resolution, 1000, 4, 1.0, False, pos_embed=False,
               name="deit_tiny_meanpool")]
    if args.spec:
        out.append(spec_from_json(Path(args.spec).read_text()))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--spec", help="also a searched ViT spec (.json)")
    args = p.parse_args()

    import torch

    from tinycore.quant import quantize_vit
    from tinycore.spec import build_model

    for spec in models(args):
        torch.manual_seed(0)
        model = build_model(spec).eval()
        with torch.no_grad():  # learned constants away from zero, as a trained model's
            for name, prm in model.named_parameters():
                if name.endswith(("pos", "token")):
                    prm.normal_(0, 0.02)
        c, h, w = spec.input.shape()
        calibration = torch.randn(2, c, h, w)
        graphs = {}
        for label, (inplace, patch, per_head) in SETS.items():
            t0 = time.time()
            if per_head not in graphs:
                graphs[per_head] = quantize_vit(model, calibration, per_head=per_head)
            graph = graphs[per_head]
            plan = plan_with(graph, inplace, patch)
            peak = max(range(len(plan.live_bytes)), key=lambda k: plan.live_bytes[k])
            print(json.dumps({"bench": "former_memory", "model": spec.name, "set": label, "inplace": inplace,
                              "patch_decomposition": patch, "per_head": per_head, "arena_bytes": plan.arena_bytes,
                              "patch_embed_bytes": patch_embed_bytes(graph, patch),
                              "patch_in_place": bool(plan.inplace.get(graph.ops[0].name)),
                              "peak_op": graph.ops[peak].name if peak < len(graph.ops) else None,
                              "n_ops": len(graph.ops), "seconds": round(time.time() - t0, 1)}), flush=True)


if __name__ == "__main__":
    main()
