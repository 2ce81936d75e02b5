"""int8 test accuracy of a trained KWS run split by the test clip's noise kind and SNR band (built-in set, pinned
protocol): where the accuracy goes. Reads the run's int8 graph and the built-in set's manifest; numpy runtime.
`_silence_` clips count under their noise kind.

    python bench/kws_noise_breakdown.py RUN_DIR [--cache-dir data/kws/quick]
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from apps.kws.task import TASK
from tinycore.cli.steps import predictors
from tinycore.report import RunDir
from tinycore.task import DataOptions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--cache-dir", type=Path, default=Path("data/kws/quick"))
    args = ap.parse_args()
    data = TASK.load_data(DataOptions(cache_dir=args.cache_dir, quick=True, progress=False, splits=("test",)))
    x, y = data.test
    _, int8 = predictors(RunDir(args.run))
    right = int8(x).argmax(1) == y
    groups: dict[str, list[bool]] = defaultdict(list)
    for record, ok in zip(data.extra["manifest"].split("test"), right):
        groups["noise " + (record.noise or "clean")].append(bool(ok))
        if record.snr_db is not None:
            band = min(int(record.snr_db // 5) * 5, 20)
            groups[f"snr {band:2d}-{band + 5} dB"].append(bool(ok))
    for name in sorted(groups):
        print(f"{name:22s} {100 * np.mean(groups[name]):.1f} % (n={len(groups[name])})")


if __name__ == "__main__":
    main()
