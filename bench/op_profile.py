"""Per-op instruction profile of the two app models on an emulated board: instructions per MAC, overall and per op
kind (tinycore.export.profile). The models have the apps' shapes with random weights and random calibration
(seeded), so the counts are those of the architecture, not of a trained model:

    python bench/op_profile.py                          # KWS DS-CNN w128 (12 classes, 49x10) and the anomaly AE
    python bench/op_profile.py --models vww_former      # the VWW ViT searched at 320 KB / 1 MB (apps/vww README)
    python bench/op_profile.py --board mps2-an500 --out /tmp/prof   # also the .graph files, JSON and op_profile PNGs

A trained model's graph goes through `python -m tinycore validate GRAPH --target mps2-an386 --profile --json`.
`--arena-limit 65536` plans as the KWS app's export does (the fastest columns within its 64 KB budget).
Converted .tflite files too, with the memory-first plan (default) or every conv column planned (--speed-first):

    python bench/op_profile.py --models --tflite /work/shared/fixtures/tflite/pretrainedResnet_quant.tflite
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinycore.export.profile import plot_op_profile, profile_on_board  # noqa: E402
from tinycore.ir import Graph  # noqa: E402
from tinycore.memory import plan_graph  # noqa: E402
from tinycore.memory.graph_plan import ARENA_LIMIT_KEY  # noqa: E402
from tinycore.spec import ModelSpec, dense_autoencoder, ds_cnn  # noqa: E402
from tinycore.spec.layers import TransformerBlock  # noqa: E402
from tinycore.spec.zoo import mobilenet_v1_025, vit  # noqa: E402
from tinycore.tflite import load_model  # noqa: E402

def vww_former() -> ModelSpec:
    """The ViT `apps.vww search --family former --quick` chose at 320 KB / 1 MB (README, MCUFormer): 96 px, 12 px
    patches (64 tokens), width 32, rank ratio 0.75, two blocks of 4 and 2 heads with MLP ratios 1 and 2."""
    spec = vit(32, 2, 4, 12, 96, 2, 1, 0.75, pos_embed=False, name="vww_former")
    return dataclasses.replace(spec, blocks=(TransformerBlock(4, 1, 0.75), TransformerBlock(2, 2, 0.75)))


MODELS = {"kws_ds_cnn_w128": lambda: ds_cnn(128, classes=12, frames=49, coeffs=10),
          "anomaly_dense_ae": dense_autoencoder,
          "vww_mobilenet_v1_025": mobilenet_v1_025,
          "vww_former": vww_former}


def random_graph_of(spec: ModelSpec, seed: int = 0) -> Graph:
    """The spec's int8 graph: random init (seeded), calibrated on 32 standard-normal inputs."""
    import torch

    from tinycore.quant import quantize
    from tinycore.spec import build_model

    torch.manual_seed(seed)
    model = build_model(spec).eval()
    gen = torch.Generator().manual_seed(seed)
    return quantize(model, [torch.randn(16, *spec.input.shape(), generator=gen) for _ in range(2)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--out", type=Path, help="folder for the .graph, profile JSON and op_profile PNG of each model")
    ap.add_argument("--models", nargs="*", choices=sorted(MODELS), default=sorted(set(MODELS) - {"vww_former"}),
                    help="which models (vww_former only when named)")
    ap.add_argument("--tflite", nargs="*", type=Path, default=[], help=".tflite files to profile as well")
    ap.add_argument("--arena-limit", type=int, default=0, metavar="BYTES",
                    help="plan as an app's export does: the fastest columns within this SRAM budget (the KWS app: "
                         "65536); 0 = the smallest arena")
    ap.add_argument("--speed-first", action="store_true",
                    help="plan every conv column (plan_graph(memory_first=False)) instead of the memory-first plan")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="op_profile_"))
    out.mkdir(parents=True, exist_ok=True)
    graphs = [(name, lambda name=name: random_graph_of(MODELS[name]())) for name in args.models]
    graphs += [(f.stem, lambda f=f: load_model(f)) for f in args.tflite]
    memory_first = not args.speed_first
    for name, make in graphs:
        graph = make()
        if args.arena_limit:
            graph.meta[ARENA_LIMIT_KEY] = args.arena_limit  # what tinycore.cli.steps.export_model writes
        graph.save(out / f"{name}.graph")
        plan = plan_graph(graph, memory_first=memory_first)
        prof = profile_on_board(graph, args.board, memory_first=memory_first)
        (out / f"{name}_{args.board}.json").write_text(json.dumps(prof, indent=1))
        plot_op_profile(prof["per_op_instructions"], plan, out / f"{name}_{args.board}.png", name)
        capped = [(r.name, r.columns) for r in plan.per_layer if r.columns]  # -1: column-free, k: blocks <= k
        print(f"{name} on {args.board}: {prof['instructions_per_inference_plain']:,} instructions, "
              f"{prof['macs']:,} MACs, {prof['instructions_per_mac']} per MAC; copies {prof['copy_instructions']}, "
              f"unaccounted {prof['unaccounted_instructions']} (limit {prof['instrumentation_instructions']}); "
              f"arena {plan.arena_bytes:,} B, convs with fewer columns (-1: none) {capped or 'none'}")
        for kind, k in prof["per_kind"].items():
            print(f"  {kind:<24} {k['n_ops']:>3} ops {k['macs']:>11,} MACs {k['instructions']:>12,} instr  "
                  f"{k['instructions_per_mac'] if k['instructions_per_mac'] is not None else '-'} per MAC")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
