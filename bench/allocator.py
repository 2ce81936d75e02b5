"""Training step time with glibc's default allocator and with freed memory kept (tinycore/cli/allocator.py), one
JSON line per setting:

    python bench/allocator.py                        # MobileNetV1 1.0 at 224x224, batch 32, 1 thread, 5 steps
    python bench/allocator.py --alpha 0.25 --resolution 96 --threads 2

Each setting runs in its own process (the allocator is set before the first tensor), on the same seeded model and
batch; the median of the steps after the first is reported with the process's user and system CPU seconds.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(args) -> dict:
    from tinycore.cli.allocator import keep_freed_memory

    kept = args.kept and keep_freed_memory()
    import torch

    from tinycore.spec import build_model, mobilenet_v1

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(mobilenet_v1(args.alpha, resolution=args.resolution, classes=2))
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    x, y = torch.rand(args.batch, 3, args.resolution, args.resolution), torch.randint(0, 2, (args.batch,))
    steps = []
    for _ in range(args.steps):
        t = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        steps.append(time.perf_counter() - t)
    use = resource.getrusage(resource.RUSAGE_SELF)
    return {"allocator": "kept" if kept else "default", "alpha": args.alpha, "resolution": args.resolution,
            "batch": args.batch, "threads": args.threads, "step_seconds": round(statistics.median(steps[1:]), 3),
            "user_cpu_s": round(use.ru_utime, 1), "system_cpu_s": round(use.ru_stime, 1),
            "minor_page_faults": use.ru_minflt}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--kept", action="store_true", help=argparse.SUPPRESS)  # the child process of one setting
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return
    for kept in (False, True):
        cmd = [sys.executable, __file__, "--child", *sys.argv[1:]] + (["--kept"] if kept else [])
        print(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
