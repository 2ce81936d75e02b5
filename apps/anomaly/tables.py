"""Markdown tables of anomaly runs for the README, read from each RUN/report.json (validation first: the choices
are made there; test figures after), and the validation differences a choice rests on: each run and each clip
score or hop choice against the first run's mean score, with a 90 % interval from a paired bootstrap over the
validation clips (resampled within each machine ID and label, B = 1000, seed 0).

    python -m apps.anomaly.tables RUN [RUN ...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def _f(x) -> str:
    return "" if x is None else f"{x:.3f}"


def _row(cells: list) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(head: list[str], rows: list[list]) -> str:
    return "\n".join([_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows)])


def _name(rep: dict, path: Path) -> str:
    return f"{rep.get('model', {}).get('family', '?')} per {rep.get('machines', {}).get('per', '?')} ({path.name})"


def val_rows(run: Path) -> dict[str, dict]:
    """file -> score csv row of the run's int8 validation scores (every model's clips)."""
    from apps.anomaly.commands import read_scores

    return {r["file"]: r for f in sorted(run.glob("*/scores_val_int8.csv")) for r in read_scores(f)}


def bootstrap_difference(a: dict[str, dict], col_a: str, b: dict[str, dict], col_b: str, n: int = 1000,
                         seed: int = 0) -> tuple[float, float, float]:
    """(AUC of b minus AUC of a, 5th and 95th percentile of that difference) over the clips both score; AUC is
    the mean over types of per-ID AUCs, as everywhere in the app."""
    from scipy.stats import rankdata

    files = sorted(set(a) & set(b))
    ids = np.array([a[f]["machine_id"] for f in files])
    y = np.array([int(a[f]["label"]) for f in files])
    sa = np.array([float(a[f][col_a]) for f in files])
    sb = np.array([float(b[f][col_b]) for f in files])
    types = sorted({i.split("/")[0] for i in ids})

    def auc(s: np.ndarray, k: np.ndarray) -> float:  # Mann-Whitney AUC per ID (= roc_auc_score), mean per type
        per_id = {}
        for i in np.unique(ids[k]):
            m = k[ids[k] == i]
            r, pos = rankdata(s[m]), y[m] == 1
            per_id[i] = (r[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())
        return float(np.mean([np.mean([v for i, v in per_id.items() if i.startswith(t + "/")]) for t in types]))

    def diff(k: np.ndarray) -> float:
        return auc(sb, k) - auc(sa, k)

    strata = [np.flatnonzero([(i, lab) == key for i, lab in zip(ids, y)]) for key in sorted(set(zip(ids, y)))]
    rng = np.random.default_rng(seed)
    boot = [diff(np.concatenate([rng.choice(s, len(s)) for s in strata])) for _ in range(n)]
    return diff(np.arange(len(files))), float(np.percentile(boot, 5)), float(np.percentile(boot, 95))


def differences(runs: list[Path]) -> str:
    """Validation AUC (int8) of every other run and every other clip score / hop of the first run, minus the first
    run's mean score."""
    base = val_rows(runs[0])
    cols = [k for k in next(iter(base.values())) if k.startswith("score_") and k != "score_mean"]
    cases = [(f"{runs[0].name}: {c[len('score_'):]}", base, c) for c in cols]
    cases += [(f"{p.name}: mean", val_rows(p), "score_mean") for p in runs[1:]]
    rows = []
    for name, rows_b, col in cases:
        d, lo, hi = bootstrap_difference(base, "score_mean", rows_b, col)
        rows.append([name, f"{d:+.3f}", f"{lo:+.3f} .. {hi:+.3f}"])
    return _table([f"validation, int8, against {runs[0].name}: mean", "AUC difference", "90 % interval"], rows)


BASELINES = ("pca_reconstruction", "gaussian_mixture", "isolation_forest")


def baseline_tables(rep: dict) -> str:
    """One run's test AUC / pAUC (int8) per machine type, ID and severity beside the scikit-learn baselines fitted
    on the same vectors (PCA, GMM, IsolationForest; float)."""
    m, base = rep["metrics"]["int8"], rep["metrics"]["float"].get("baselines", {})

    def cell(d: dict) -> str:
        return f"{_f(d.get('auc'))} / {_f(d.get('pauc'))}" if d else ""

    out = []
    for key, label in (("per_type", "type"), ("per_id", "ID"), ("per_severity", "severity")):
        out.append(_table([f"{label}: AUC / pAUC (test)", "model int8", "PCA", "GMM", "IsolationForest"],
                          [[k, cell(m[key][k]), *(cell(base.get(b, {}).get(key, {}).get(k, {})) for b in BASELINES)]
                           for k in sorted(m[key])]))
    return "\n\n".join(out)


def tables(runs: list[Path]) -> str:
    """Choice tables (validation and test) and the per type / ID / severity test tables of the runs."""
    reps = [(p, json.loads((p / "report.json").read_text())) for p in runs]
    out = []
    rows = []
    for p, r in reps:
        v, t = r.get("validation", {}).get("int8", {}), r["metrics"]["int8"]
        base = r["metrics"]["float"].get("baselines", {})
        rows.append([_name(r, p), _f(r.get("validation", {}).get("float", {}).get("auc")), _f(v.get("auc")),
                     _f(v.get("pauc")), _f(r["metrics"]["float"]["auc"]), _f(t["auc"]), _f(t["pauc"]),
                     f"{t['detection_rate']:.3f} / {t['false_alarm_rate']:.3f}",
                     " / ".join(_f(base.get(b, {}).get("auc")) for b in BASELINES)])
    out.append(_table(["run", "val AUC float", "val AUC int8", "val pAUC int8", "test AUC float", "test AUC int8",
                       "test pAUC int8", "test detection / false alarms (int8)", "test PCA / GMM / IF"], rows))
    for key in ("clip_score_choices", "hop_choices"):
        rows = [[_name(r, p), split, *(_f(c["auc"]) for c in sec[key].values())]
                for p, r in reps for split, sec in (("val", r.get("validation", {}).get("int8")),
                                                    ("test", r["metrics"]["int8"])) if sec and key in sec]
        names = next(iter(sec[key] for _, r in reps for sec in [r["metrics"]["int8"]]))
        out.append(_table(["run", "split", *names], rows))
    for key, label in (("per_type", "type"), ("per_id", "ID"), ("per_severity", "severity")):
        keys = sorted({k for _, r in reps for k in r["metrics"]["int8"][key]})
        out.append(_table([label, *(_name(r, p) for p, r in reps)],
                          [[k, *(f"{_f(r['metrics']['int8'][key].get(k, {}).get('auc'))} "
                                 f"({_f(r['metrics']['float'].get('baselines', {}).get('pca_reconstruction', {}).get(key, {}).get(k, {}).get('auc'))})"
                                 for _, r in reps)] for k in keys]))
    from apps.anomaly.commands import _alarm_rates, read_scores

    test = [[r for f in sorted(p.glob("*/scores_int8.csv")) for r in read_scores(f)] for p, _ in reps]
    ids = sorted({r["machine_id"] for rows in test for r in rows})
    out.append(_table(["test detection / false alarms (int8; thresholds per machine ID)",
                       *(_name(r, p) for p, r in reps)],
                      [[i, *(" / ".join(f"{v:.2f}" for v in _alarm_rates([r for r in rows if r["machine_id"] == i])
                                        .values()) for rows in test)] for i in ids]))
    if all(any(p.glob("*/scores_val_int8.csv")) for p in runs):
        out.insert(1, differences(runs))
    out.append(baseline_tables(reps[0][1]))
    return "\n\n".join(out)


if __name__ == "__main__":
    print(tables([Path(a) for a in sys.argv[1:]]))
