"""Markdown tables of anomaly runs for the README, read from each RUN/report.json (validation first: the choices
are made there; test figures after).

    python -m apps.anomaly.tables RUN [RUN ...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _f(x) -> str:
    return "" if x is None else f"{x:.3f}"


def _row(cells: list) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(head: list[str], rows: list[list]) -> str:
    return "\n".join([_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows)])


def _name(rep: dict, path: Path) -> str:
    return f"{rep.get('model', {}).get('name', '?')} per {rep.get('machines', {}).get('per', '?')} ({path.name})"


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
                     " / ".join(_f(base.get(b, {}).get("auc")) for b in
                                ("pca_reconstruction", "gaussian_mixture", "isolation_forest"))])
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
    rows = [[_name(r, p), i, f"{a['detection_rate']:.2f} / {a['false_alarm_rate']:.2f}"]
            for p, r in reps for i, a in r["metrics"]["int8"].get("alarm_rates_per_id", {}).items()]
    out.append(_table(["run", "ID", "test detection / false alarms (int8)"], rows))
    return "\n\n".join(out)


if __name__ == "__main__":
    print(tables([Path(a) for a in sys.argv[1:]]))
