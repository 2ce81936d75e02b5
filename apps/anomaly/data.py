"""The built-in anomaly data set: synthesized machine sounds (apps.anomaly.synth) written in the DCASE layout.

<cache>/<type>/train/normal_id_XX_N.wav (normal only), <cache>/<type>/{val,test}/{normal,anomaly}_id_XX_N.wav, and
labels.json (file -> anomaly kind, severity, SNR, seed) beside them; then read back with apps.anomaly.dcase, the
same reader --data-dir uses. Anomalous val and test clips cycle through every (kind, severity) pair per ID. The
val/ folder (fresh clips of the same machines and faults, their own seeds) is where every choice is made (model,
--per, clip score, hop) and the alarm thresholds are set (on its normal clips), so the test split is only
reported. Deterministic from the seed; rebuilt only when the seed, size or DATASET_VERSION changes.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from apps.anomaly.dcase import load_dcase
from apps.anomaly.frontend import ANOMALY_FRONTEND
from apps.anomaly.synth import ANOMALY_KINDS, MACHINE_IDS, MACHINE_TYPES, SEVERITIES, machine, render_clip
from tinycore.audio.manifest import Manifest
from tinycore.pool import map_in_processes

DATASET_VERSION = 7  # 6 + the val/ folder; train and test clips are those of version 6


@dataclass(frozen=True)
class DatasetSize:
    train_per_id: int        # normal clips, all for training (the val/ folder validates)
    test_normal_per_id: int
    test_anomaly_per_id: int  # cycles through the 5 kinds x 3 severities
    val_normal_per_id: int
    val_anomaly_per_id: int   # as the test ones, with seeds of their own


FULL = DatasetSize(train_per_id=60, test_normal_per_id=30, test_anomaly_per_id=30, val_normal_per_id=20,
                   val_anomaly_per_id=30)
QUICK = DatasetSize(train_per_id=20, test_normal_per_id=15, test_anomaly_per_id=15, val_normal_per_id=10,
                    val_anomaly_per_id=15)


@dataclass(frozen=True)
class ClipJob:
    path: str
    kind: str
    machine_id: str
    anomaly: str | None
    severity: str | None
    seed: int


def _jobs(size: DatasetSize, seed: int) -> list[ClipJob]:
    combos = [(a, s) for s in SEVERITIES for a in ANOMALY_KINDS]
    jobs: list[ClipJob] = []
    for t, kind in enumerate(MACHINE_TYPES):
        for mid in MACHINE_IDS:
            base = [seed, t, int(mid)]
            for i in range(size.train_per_id):
                jobs.append(ClipJob(f"{kind}/train/normal_id_{mid}_{i:08d}.wav", kind, mid, None, None,
                                    int(np.random.SeedSequence(base + [0, i]).generate_state(1)[0])))
            for split, n_normal, n_anomaly, code in (("test", size.test_normal_per_id, size.test_anomaly_per_id, 1),
                                                     ("val", size.val_normal_per_id, size.val_anomaly_per_id, 3)):
                for i in range(n_normal):
                    jobs.append(ClipJob(f"{kind}/{split}/normal_id_{mid}_{i:08d}.wav", kind, mid, None, None,
                                        int(np.random.SeedSequence(base + [code, i]).generate_state(1)[0])))
                for i in range(n_anomaly):
                    a, s = combos[i % len(combos)]
                    jobs.append(ClipJob(f"{kind}/{split}/anomaly_id_{mid}_{i:08d}.wav", kind, mid, a, s,
                                        int(np.random.SeedSequence(base + [code + 1, i]).generate_state(1)[0])))
    return jobs


def _render(job: ClipJob, root: str) -> dict:
    fe = ANOMALY_FRONTEND
    x, snr = render_clip(machine(job.kind, job.machine_id), fe.clip_samples, fe.sample_rate_hz, job.seed,
                         job.anomaly, job.severity or "obvious")
    path = Path(root) / job.path
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, fe.sample_rate_hz, subtype="PCM_16")
    return {"anomaly": job.anomaly or "", "severity": job.severity or "", "snr_db": round(snr, 2),
            "seed": job.seed}


def build_dataset(cache_dir: str | Path, seed: int = 0, quick: bool = False, progress: bool = True,
                  workers: int = 2) -> Manifest:
    """Render (or reuse) the built-in set under cache_dir and return its manifest."""
    root = Path(cache_dir)
    size = QUICK if quick else FULL
    stamp = {"version": DATASET_VERSION, "seed": seed, "size": asdict(size), "frontend_rate": 16000}
    labels_path = root / "labels.json"
    if labels_path.exists():
        doc = json.loads(labels_path.read_text())
        if doc.get("stamp") == stamp:
            return _manifest(root, doc)
    for kind in MACHINE_TYPES:
        shutil.rmtree(root / kind, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    jobs = _jobs(size, seed)
    args = [(j, str(root)) for j in jobs]
    infos = map_in_processes(_render, args, workers=workers, desc="synthesize clips", progress=progress, chunksize=4)
    doc = {"stamp": stamp, "build_seconds": round(time.time() - t0, 1),
           "clips": {j.path: info for j, info in zip(jobs, infos)}}
    tmp = labels_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(labels_path)
    return _manifest(root, doc)


def _manifest(root: Path, doc: dict) -> Manifest:
    m = load_dcase(root, extra=doc["clips"])
    meta = {**m.meta, "name": "builtin_synthetic_machines", "source": "apps/anomaly/synth.py (synthesized)",
            "machine_types": list(MACHINE_TYPES), "machine_ids": list(MACHINE_IDS),
            "anomaly_kinds": list(ANOMALY_KINDS), "severities": list(SEVERITIES), "seed": doc["stamp"]["seed"],
            "size": doc["stamp"]["size"], "build_seconds": doc.get("build_seconds")}
    return Manifest(root=m.root, classes=m.classes, clips=m.clips, meta=meta)
