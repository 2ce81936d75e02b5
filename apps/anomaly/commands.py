"""The anomaly app's versions of train / export / eval / firmware / demo: per-machine models (apps.anomaly.machines)
through the shared pipeline steps, one sub-run per model, gathered in RUN/report.json.

A run remembers its data source: export, eval and firmware of a run read the data it was trained on (its
--data-dir, --quick, --seed and --cache-dir, from RUN/report.json `dataset`) unless the command names others.
"""
from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import time
from pathlib import Path

import numpy as np

from apps.anomaly.features import STRIDE
from apps.anomaly.idnn import (BinStats, fold_checkpoint, is_folded, is_idnn, scoring_data, training_data,
                               unfold_standardization)
from apps.anomaly.machines import (POOLED, PER_CHOICES, folder, group_of, groups, in_group, model_for, normal_val,
                                   select, trained_groups)
from apps.anomaly.scoring import CLIP_SCORES, auc_table, severity_table
from tinycore.errors import DataError, UnsupportedError
from tinycore.report import RunDir
from tinycore.task import Task, TaskData, load_task_data
from tinycore.units import parse_bytes

RUN_COMMANDS = ("train", "search", "export", "eval", "firmware", "demo")
INIT_CHOICES = ("pooled", "scratch")


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """--per on train/search/demo (which models to fit), --init on train/demo (where a per-machine model starts),
    --machine on every run command (which one to use)."""
    if command in ("train", "search", "demo"):
        parser.add_argument("--per", default="type", choices=PER_CHOICES,
                            help="one model per machine type (default), per machine ID, or one pooled over every "
                                 "machine")
    if command in ("train", "demo"):
        # from the pooled model closed most of the validation gap between per type and pooled (README)
        parser.add_argument("--init", default="pooled", choices=INIT_CHOICES,
                            help="per type / per ID: start each machine's model from a model pooled over every "
                                 "machine, trained first (default), or from scratch")
    if command == "search":
        parser.add_argument("--model", help="the family to search: the default model's (IDNN) or that of a zoo name "
                                            "(dense_autoencoder: MLPerf's reference)")
    if command in RUN_COMMANDS:
        parser.add_argument("--machine", help="only this machine's model (e.g. fan or fan/id_00); firmware: the "
                                              "machine whose clips run (default: the first)")


def _run(args, default_name: str) -> RunDir:
    from tinycore.cli.app import _run_dir

    return _run_dir(args, default_name)


def _remember_source(run: RunDir, args) -> None:
    """report.json data_source, so that `eval --data-dir` naming the run's own folder counts as its own data."""
    from tinycore.cli.app import _remember_source as remember

    remember(run, args)


def data_args(args, run: RunDir) -> argparse.Namespace:
    """args with the run's data source filled in where the command line left the default."""
    ds = run.load_report().get("dataset", {})
    out = copy.copy(args)
    if args.data_dir is None and args.cache_dir is None and ds:
        out.data_dir = ds.get("data_dir")
        out.cache_dir = ds.get("cache_dir")
        out.quick = bool(args.quick or ds.get("quick", False))
        out.seed = args.seed if args.seed != 0 else int(ds.get("seed", 0))
    return out


def _load(task: Task, args, build: bool = False, splits: tuple[str, ...] = ("train", "val", "test")) -> TaskData:
    from tinycore.cli.app import data_options

    opts = data_options(args, splits=splits)
    data = load_task_data(task, opts, build=build)
    return dataclasses.replace(data, dataset={**data.dataset, "cache_dir": str(opts.cache_dir)})


def model_data(data: TaskData, group: str, run: RunDir, clips: str | None = None) -> TaskData:
    """The data of one model (`clips`: the machine whose clips to score, default the model's own), with the
    targets its model is scored on: the inputs (autoencoder) or the standardised centre frames (IDNN)."""
    from tinycore.cli.steps import load_spec

    sub = run.member_run(folder(group))
    gdata = select(data, clips or group)
    return scoring_data(gdata, BinStats.load(sub.path)) if is_idnn(load_spec(sub)) else gdata


def _chosen(args, available: list[str]) -> list[str]:
    return [model_for(args.machine, available)] if getattr(args, "machine", None) else available


def cmd_train(task: Task, args) -> int:
    from tinycore.cli.app import _check_model_name

    _check_model_name(args.model)
    data = _load(task, args)
    run = _run(args, args.model or "default")
    _remember_source(run, args)
    return _emit_train(args, train_all(task, data, run, args))


def train_all(task: Task, data: TaskData, run: RunDir, args) -> dict:
    """Every model of --per; per type / per ID with --init pooled: the pooled model first (RUN/all, kept as a
    sub-run outside `machines.groups`), then each machine's model fine-tuned from it on its own clips."""
    from tinycore.cli import steps
    from tinycore.cli.app import _spec_for

    todo = _todo(data, args)
    spec = _spec_for(task, data, args.model)
    sections, start = {}, None
    if args.per != "pooled" and getattr(args, "init", "scratch") == "pooled":
        steps.log(f"train {POOLED} (the starting point of every {args.per} model)", args.quiet)
        start = run.member_run(folder(POOLED))
        sections[POOLED] = train_one(task, normal_val(select(data, POOLED)), start, spec, args)
    for g in todo:
        steps.log(f"train {g}" + (f" from {POOLED}" if start else ""), args.quiet)
        sections[g] = train_one(task, normal_val(select(data, g)), run.member_run(folder(g)), spec, args,
                                start=start)
    run.update_report(app=task.name, dataset=data.dataset, model=steps.model_section(spec),
                      machines={"per": args.per, "groups": todo, "init": POOLED if start else "scratch"},
                      train={"per_machine": sections})
    return sections


def train_one(task: Task, gdata: TaskData, sub: RunDir, spec, args, start: RunDir | None = None) -> dict:
    """Train one machine's model on its data (validation: normal clips), from scratch or fine-tuned from the
    trained model in `start` (task.finetune_settings); an IDNN trains standardised with its own statistics either
    way, then its standardisation is folded into the first layer."""
    from apps.anomaly.task import finetune_settings
    from tinycore.cli import steps
    from tinycore.spec import build_model

    stats = None
    if is_idnn(spec):
        if is_folded(sub.path):
            raise DataError(f"{sub.path}: holds a trained IDNN already; train into a new --out")
        # its own statistics, also when fine-tuned: bins unusual for this machine stand out in its units, which is
        # what lets it flag another unit's normal sound (with the pooled model's statistics a fine-tuned per-ID
        # model kept pooling's blind spot on tests/apps/anomaly/test_machines.py's data; README)
        stats = BinStats.fit(gdata.train[0])
        sub.path.mkdir(parents=True, exist_ok=True)
        stats.save(sub.path)
        gdata = training_data(gdata, stats)
    init = None if start is None else start_model(start, spec)
    section = steps.train(task, gdata, sub, spec, quick=args.quick, seed=args.seed, progress=not args.quiet,
                          epochs=args.epochs, init_model=init,
                          settings=None if init is None else finetune_settings())
    if stats is not None:
        fold_checkpoint(sub.path, build_model(spec), stats)
    return section if start is None else {**section, "init": str(start.path.name)}


def start_model(start: RunDir, spec):
    """The trained model of `start` as a starting point for `spec`'s training: the same architecture, and for an
    IDNN with its standardisation unfolded (the new model learns on standardised inputs)."""
    from tinycore.cli import steps
    from tinycore.spec import spec_to_json

    if spec_to_json(steps.load_spec(start)) != spec_to_json(spec):
        raise UnsupportedError(f"{start.path}: its model is another architecture than {spec.name}; use --init scratch")
    model = steps.load_float_model(start).train()
    return unfold_standardization(model, BinStats.load(start.path)) if is_idnn(spec) else model


def _emit_train(args, sections: dict) -> int:
    from tinycore.cli.app import _emit

    _emit(args, sections, "\n".join(f"trained {g}: best val neg_mse {s['best_val_neg_mse']:.4f}"
                                    for g, s in sections.items()))
    return 0


def cmd_search(task: Task, args) -> int:
    """For each machine's model: the width/depth search of its family (the IDNN's by default, the dense
    autoencoder's with --model dense_autoencoder) on its own data, costed torch-free, then trained, exported and
    checked against the searched arena and Flash, and evaluated."""
    from tinycore.cli import steps
    from tinycore.cli.app import _check_model_name, _emit, _spec_for

    _check_model_name(args.model)
    if getattr(args, "macs", None):
        raise DataError("--macs: the anomaly search limits SRAM and Flash only (TinyNAS apps take a MACs limit)")
    data = _load(task, args)
    run = _run(args, "search")
    _remember_source(run, args)
    todo = _todo(data, args)
    family = "idnn" if is_idnn(_spec_for(task, data, args.model)) else "dense_autoencoder"
    reports = {}
    for g in todo:
        steps.log(f"search {g} ({family} family)", args.quiet)
        rep = search_one(task, data, g, run, args, family)
        reports[g] = {"sizes": rep["search"]["sizes"], "auc_int8": rep["metrics"]["int8"]["auc"],
                      "sram_peak_bytes": rep["memory"]["sram_peak_bytes"], "flash_bytes": rep["memory"]["flash_bytes"]}
    run.update_report(app=task.name, dataset=data.dataset, machines={"per": args.per, "groups": todo},
                      search={"family": family, "per_machine": reports})
    _emit(args, reports, "\n".join(f"{g}: {'-'.join(map(str, r['sizes']))}, arena {r['sram_peak_bytes']:,} B, flash "
                                   f"{r['flash_bytes']:,} B, int8 AUC {r['auc_int8']:.3f}" for g, r in reports.items()))
    return 0


def search_one(task: Task, data: TaskData, g: str, run: RunDir, args, family: str) -> dict:
    """One machine's search, training, export (its arena and Flash must equal the searched ones) and test; the
    sub-run's report."""
    from apps.anomaly.search import search_details, search_family
    from tinycore.cli import steps
    from tinycore.cli.search import export_and_check

    sub, gdata = run.member_run(folder(g)), normal_val(select(data, g))
    view = training_data(gdata, BinStats.fit(gdata.train[0])) if family == "idnn" else gdata
    sram, flash = parse_bytes(args.sram), parse_bytes(args.flash)
    found = search_family(view, sram, flash, family=family, quick=args.quick, seed=args.seed)
    best = found["best"]
    section = {"source": "apps.anomaly.search (tinycore.nas.cost)", "family": family,
               "predicted_arena_bytes": best.sram_peak_bytes, "predicted_flash_bytes": best.flash_bytes,
               **search_details(found)}
    section["train"] = train_one(task, gdata, sub, found["spec"], args)
    sub.update_report(app=task.name, dataset=gdata.dataset, model=steps.model_section(found["spec"]), search=section)
    scored = model_data(data, g, run)
    export_and_check(task, scored, sub, sram, flash, best.sram_peak_bytes, best.flash_bytes, "apps.anomaly search")
    steps.evaluate(task, scored, sub)
    return sub.load_report()


def _todo(data: TaskData, args) -> list[str]:
    """The models to fit: every group of --per, or the one serving --machine."""
    todo = groups(data, args.per)
    if getattr(args, "machine", None):
        todo = [group_of(args.machine, args.per)]
    return todo


def cmd_export(task: Task, args) -> int:
    from tinycore.cli.app import _emit

    run = _run(args, "default")
    data = _load(task, data_args(args, run))
    mem = export_all(task, data, run, args, strict=args.strict)
    _emit(args, mem, f"exported {len(mem['per_machine'])} model(s): largest arena {mem['sram_peak_bytes']:,} B, "
                     f"largest flash {mem['flash_bytes']:,} B")
    return 0


def export_all(task: Task, data: TaskData, run: RunDir, args, strict: bool) -> dict:
    """Quantize each model with its own machine's training vectors as calibration."""
    from tinycore.cli import steps

    per = {}
    for g in _chosen(args, trained_groups(run.path)):
        m = steps.export(task, model_data(data, g, run), run.member_run(folder(g)),
                         sram_bytes=parse_bytes(args.sram),
                         flash_bytes=parse_bytes(args.flash), strict=strict)
        per[g] = {k: v for k, v in m.items() if k != "per_layer"}
    mem = {"sram_peak_bytes": max(v["sram_peak_bytes"] for v in per.values()),
           "flash_bytes": max(v["flash_bytes"] for v in per.values()), "per_machine": per,
           "note": "largest over the per-machine models; one device holds one of them"}
    run.update_report(budget={"sram_bytes": parse_bytes(args.sram), "flash_bytes": parse_bytes(args.flash)},
                      memory=mem)
    return mem


def cmd_eval(task: Task, args) -> int:
    """The run's own data: all splits (val sets the alarm threshold, train fits the baselines), the run's
    headline metrics. Other data (e.g. a DCASE
    folder with only <type>/test/): its test clips alone, thresholds from the run's own evaluation, kept under
    report.json evaluations[<data set>:test]."""
    from tinycore.cli.app import _emit

    run = _run(args, "default")
    own = getattr(args, "own_source", True)
    data = _load(task, data_args(args, run), splits=("train", "val", "test") if own else ("test",))
    met = eval_all(task, data, run, args, own_data=own)
    where = "metrics" if own else f"evaluations[\"{met['key']}\"]"
    _emit(args, met, f"test: float auc {met['float']['auc']:.4f}, int8 auc {met['int8']['auc']:.4f} "
                     f"({len(met['per_machine'])} model(s); report.json {where})")
    return 0


def eval_all(task: Task, data: TaskData, run: RunDir, args, own_data: bool = True) -> dict:
    """Each model scores its own machines' test clips; the tables are computed over all of them together. On
    other data only the models of machines it holds run, each with the threshold of its own evaluation."""
    from tinycore.cli import steps

    chosen = _chosen(args, trained_groups(run.path))
    if not own_data:
        chosen = _served(chosen, data)
    per, folders, val_folders = {}, [], []
    for g in chosen:
        steps.log(f"evaluate {g}", args.quiet)
        sub = run.member_run(folder(g))
        gdata = model_data(data, g, run)
        if not own_data:
            gdata = dataclasses.replace(gdata, extra={**gdata.extra, "thresholds": stored_thresholds(sub)})
        m = steps.evaluate(task, gdata, sub, own_data=own_data)
        per[g] = {t: {k: m[t][k] for k in ("auc", "pauc", "threshold", "thresholds_per_id", "detection_rate",
                                           "false_alarm_rate")}
                  for t in ("float", "int8")}
        folders.append(sub.path if own_data else steps.evaluation_dir(sub, m["key"]))
        if own_data and np.any(gdata.extra["clips"]["val"]["labels"] == 1):  # a val split to choose settings on
            v = steps.evaluate(task, gdata, sub, split="val")
            for t in ("float", "int8"):
                per[g][t]["val_auc"] = v[t]["auc"]
            val_folders.append(sub.path)
    metrics = {"split": "test", "per_machine": per, **{t: gather(folders, t) for t in ("float", "int8")}}
    if own_data:
        validation = {"split": "val", "note": "every choice (model, --per, clip score, hop) is made on these; "
                                              "test figures are reported only",
                      **{t: gather(val_folders, t, split="val") for t in ("float", "int8")}} if val_folders else \
            {"split": "val", "note": "the validation split holds normal clips only: it stops training and sets "
                                     "the alarm thresholds, and no setting can be chosen on it"}
        run.update_report(metrics=metrics, validation=validation)
        return metrics
    key = steps.evaluation_key(data, "test")
    evaluations = run.load_report().get("evaluations", {})
    evaluations[key] = {**metrics, "own_data": False,
                        "dataset": {k: data.dataset.get(k) for k in ("name", "source", "n_test")}}
    run.update_report(evaluations=evaluations)
    return {"key": key, **metrics}


def _served(chosen: list[str], data: TaskData) -> list[str]:
    """The models among `chosen` that have test clips of their machines in data; DataError when none has."""
    voices = set(data.extra["clips"]["test"]["groups"])
    out = [g for g in chosen if any(in_group(v, g) for v in voices)]
    if not out:
        raise DataError(f"{data.dataset.get('source')}: none of its machines ({', '.join(sorted(voices))}) has a "
                        f"model in this run ({', '.join(chosen)})")
    return out


def stored_thresholds(sub: RunDir) -> dict[str, dict]:
    """{float, int8: {"model": threshold, "per_id": {ID: threshold}}} from a sub-run's own evaluation (set on its
    validation clips; scoring.machine_thresholds)."""
    met = sub.load_report().get("metrics") or {}
    if not all(t in met for t in ("float", "int8")):
        raise DataError(f"{sub.report_path}: no alarm thresholds (no `metrics` of the run's own evaluation); run "
                        f"`eval` on the run's own data first, then on other data")
    return {t: {"model": float(met[t]["threshold"]), "per_id": dict(met[t].get("thresholds_per_id", {}))}
            for t in ("float", "int8")}


def read_scores(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def gather(folders: list[Path], tag: str, split: str = "test") -> dict:
    """AUC tables over the `split` clips of every chosen model (each row scored by its machine's own model), from
    the scores_[val_]<tag>.csv each evaluation wrote in its folder."""
    name = tag if split == "test" else f"{split}_{tag}"
    rows = [r for d in folders for r in read_scores(Path(d) / f"scores_{name}.csv")]
    labels = np.array([int(r["label"]) for r in rows])
    ids = [r["machine_id"] for r in rows]
    sev = [r["severity"] for r in rows]

    def col(name: str) -> np.ndarray:
        return np.array([float(r[name]) for r in rows])

    def brief(scores: np.ndarray) -> dict:
        return {k: v for k, v in auc_table(scores, labels, ids).items() if k in ("auc", "pauc", "per_type")}

    out = auc_table(col("score"), labels, ids)
    out["per_severity"] = severity_table(col("score"), labels, ids, sev)
    out["clip_score_choices"] = {h: brief(col(f"score_{h}")) for h in CLIP_SCORES}
    hops = [k[len("score_hop_"):] for k in rows[0] if k.startswith("score_hop_")]
    out["hop_choices"] = {str(STRIDE): brief(col("score")), **{h: brief(col(f"score_hop_{h}")) for h in hops}}
    out.update(_alarm_rates(rows))
    out["alarm_rates_per_id"] = {i: _alarm_rates([r for r in rows if r["machine_id"] == i]) for i in sorted(set(ids))}
    names = [k[len("baseline_"):] for k in rows[0] if k.startswith("baseline_")]
    if names:
        out["baselines"] = {n: {**auc_table(col(f"baseline_{n}"), labels, ids),
                                "per_severity": severity_table(col(f"baseline_{n}"), labels, ids, sev)}
                            for n in names}
    return out


def _alarm_rates(rows: list[dict]) -> dict[str, float]:
    """Fraction of anomalous clips that raised the alarm, and of normal ones (score csv rows)."""
    def rate(label: str) -> float:
        alarms = [int(r["alarm"]) for r in rows if r["label"] == label]
        return float(np.mean(alarms)) if alarms else float("nan")

    return {"detection_rate": rate("1"), "false_alarm_rate": rate("0")}


def cmd_firmware(task: Task, args) -> int:
    from tinycore.cli.app import _emit

    run = _run(args, "default")
    data = _load(task, data_args(args, run))
    fw = firmware_one(task, data, run, args)
    _emit(args, fw, "firmware: " + ", ".join(f"{k} {v}" for k, v in fw.items() if not isinstance(v, (dict, list))))
    return 0 if fw.get("outputs_match_runtime", True) and fw.get("features_within_tolerance", True) else 1


def firmware_one(task: Task, data: TaskData, run: RunDir, args) -> dict:
    """The firmware of one machine: its model (threshold from that machine's normal validation clips) on its test
    clips."""
    from tinycore.cli import steps

    available = trained_groups(run.path)
    machine = args.machine or sorted(set(select(data, available[0]).extra["clips"]["test"]["groups"]))[0]
    g = model_for(machine, available)
    own, clip_data = model_data(data, g, run), model_data(data, g, run, clips=machine)
    fw_data = dataclasses.replace(own, test=clip_data.test, extra={
        **own.extra, "clips": {**own.extra["clips"], "test": clip_data.extra["clips"]["test"]},
        "logmel": {**own.extra["logmel"], "test": clip_data.extra["logmel"]["test"]}})
    section = steps.firmware(task, fw_data, run.member_run(folder(g)), board=args.board, n_clips=args.n,
                             seed=args.seed, progress=not args.quiet)
    section = {**section, "machine": machine, "model": g}
    run.update_report(firmware=section)
    return section


def cmd_demo(task: Task, args) -> int:
    """data -> per-machine train -> int8 -> eval -> firmware of one machine in QEMU -> report."""
    from tinycore.cli import steps
    from tinycore.cli.app import _check_model_name, _emit, demo_summary

    _check_model_name(args.model)
    t0 = time.time()
    steps.log(f"[1/5] data ({'quick' if args.quick else 'full'} built-in set)" if not args.data_dir else
              f"[1/5] data from {args.data_dir}", args.quiet)
    data = _load(task, args, build=True)
    run = _run(args, "demo")
    _remember_source(run, args)
    steps.log(f"[2/5] train (one model per {args.per})", args.quiet)
    train_all(task, data, run, args)
    steps.log("[3/5] int8 export + memory plan", args.quiet)
    export_all(task, data, run, args, strict=True)
    steps.log("[4/5] evaluate float and int8", args.quiet)
    eval_all(task, data, run, args)
    if not args.no_firmware:
        steps.log(f"[5/5] firmware on {args.board} (QEMU)", args.quiet)
        firmware_one(task, data, run, args)
    report = run.update_report(demo={"seconds": round(time.time() - t0, 1), "quick": args.quick, "per": args.per})
    _emit(args, report, demo_summary(task, run, report))
    return 0


COMMANDS = {"train": cmd_train, "search": cmd_search, "export": cmd_export, "eval": cmd_eval, "firmware": cmd_firmware, "demo": cmd_demo}
