"""bench/former_memory.py (issue #14's ablation): the DeiT-Tiny-shaped int8 ViT fits 256 KB with every technique.

One block is enough: at DeiT-Tiny's shape every technique set's peak lies in block 0 (README, MCUFormer), so the
12-block figures are these; the 12-block run is `../shared/acceptance/former.sh`.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_deit_tiny_with_every_technique_fits_256kb():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "former_memory.py"), "--depth", "1"], check=True,
                         capture_output=True, text=True, timeout=600).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    rows = {(r["model"], r["set"]): r for r in lines}
    for model in ("deit_tiny", "deit_tiny_meanpool"):
        arena = {s: rows[model, s]["arena_bytes"] for s in ("int8", "+inplace", "+patch", "+per_head", "all")}
        assert arena["int8"] > 256 * 1024 >= arena["all"], arena  # the techniques are what makes it fit
        assert arena["all"] < min(arena["+inplace"], arena["+per_head"]), arena  # they add up
        assert all(a <= arena["int8"] for a in arena.values()), arena
        # the decomposition cuts the patch embedding's own need (its op is not the peak at this shape)
        assert rows[model, "+patch"]["patch_embed_bytes"] < rows[model, "int8"]["patch_embed_bytes"]
    assert (rows["deit_tiny", "all"]["arena_bytes"], rows["deit_tiny_meanpool", "all"]["arena_bytes"]) == \
        (203_704, 202_272)
