"""The detection app's train / export / eval / demo: the shared CLI's options and run folder, for a model with two
outputs (heat, box) whose architecture is a DetectorSpec (apps.detection.model), saved as RUN/detector.json.

Training joins the two outputs into one (N, C + 4, gh, gw) tensor so tinycore.train.fit, its checkpoints and its
validation metric work unchanged; the quantizer gets the two-output module itself.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from apps.detection.evaluate import Heads
from apps.detection.model import Detector, DetectorSpec, check_stride, detector_stats, spec_from_json
from tinycore.cli.app import _check_firmware, _emit, _load_data, _remember_source, _run_dir, cmd_firmware, \
    data_options
from tinycore.errors import BudgetError, TinycoreError
from tinycore.progress import log
from tinycore.report import RunDir
from tinycore.task import Task, TaskData
from tinycore.units import parse_bytes

class Joined(nn.Module):
    """heat and box concatenated on channels, for the training loop (one output tensor)."""

    def __init__(self, net: Detector) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.net(x), 1)


def spec_path(run: RunDir) -> Path:
    return run.path / "detector.json"


def model_section(spec: DetectorSpec) -> dict:
    import json

    return {"family": spec.name, "spec": json.loads(spec.to_json()), **detector_stats(spec),
            "input_hw": list(spec.input_hw), "stride": spec.stride, "outputs": ["heat", "box"]}


def load_float_model(run: RunDir) -> Detector:
    spec = spec_from_json(run.need(spec_path(run), "train").read_text())
    joined = Joined(Detector(spec))
    ckpt = torch.load(run.need(run.checkpoint_path, "train"), map_location="cpu", weights_only=False)
    joined.load_state_dict(ckpt["model"])
    return joined.net.eval()


def train(task: Task, data: TaskData, run: RunDir, spec: DetectorSpec, *, quick: bool, seed: int, progress: bool,
          epochs: int | None = None) -> dict:
    from tinycore.train import fit

    check_stride(spec)
    settings = task.train_settings(quick)
    torch.manual_seed(seed)
    run.path.mkdir(parents=True, exist_ok=True)
    if spec_path(run).exists() and spec_path(run).read_text() != spec.to_json() and run.checkpoint_path.exists():
        raise TinycoreError(f"{run.path} holds a checkpoint of another architecture; choose a new --out")
    spec_path(run).write_text(spec.to_json())
    # channels-last convolutions train this model 1.5-1.7x faster on the CPU (one torch thread, batch 8: 9.0-9.6
    # against 15.7-16.1 ms per picture forward + backward with the context branch); the loader's batches match
    model = Joined(Detector(spec)).to(memory_format=torch.channels_last)
    t = [tuple(torch.from_numpy(a) for a in split) for split in (data.train, data.val)]
    train_data = task.train_loader(data, settings.batch_size, progress) if task.train_loader else t[0]
    result = fit(model, train_data, t[1], epochs=epochs or settings.epochs, lr=settings.lr, loss=task.loss,
                 metric=task.metric, out_dir=run.path, patience=settings.patience, batch_size=settings.batch_size,
                 weight_decay=settings.weight_decay, progress=progress, seed=seed)
    section = {"epochs": result.epochs_run, "best_epoch": result.best_epoch, "best_val_neg_loss": result.best_metric,
               "lr": settings.lr, "batch_size": settings.batch_size}
    run.update_report(app=task.name, dataset=data.dataset, model=model_section(spec), train=section)
    return section


CALIBRATION_PICTURES = 128


def calibration_data(data: TaskData, n: int) -> TaskData:
    """data with its training split cut to n pictures (seeded pick) as float: the training split is kept uint8
    (apps.detection.task.arrays_at), the quantizer calibrates on the model's float input."""
    from dataclasses import replace

    from apps.detection.task import as_float

    x, t = data.train
    pick = np.sort(np.random.default_rng(0).choice(len(x), size=min(n, len(x)), replace=False))
    pictures = x[pick].transpose(0, 2, 3, 1) if x.dtype == np.uint8 else None
    return replace(data, train=(as_float(pictures) if pictures is not None else x[pick], t[pick]))


PATCH = "auto"  # tinycore.patch.search picks the split and the grid
INPUT_MODE = "stream"  # the first stage pulls camera rows (tc_read_input_rows): no whole frame in SRAM


def export(task: Task, data: TaskData, run: RunDir, *, sram_bytes: int, flash_bytes: int, strict: bool) -> dict:
    """Quantize with training pictures as calibration (two int8 outputs: heat, box), plan memory with the first
    stage run patch by patch (streamed input rows), check the budget against that arena.

    report.json memory: sram_peak_bytes is the patched arena (the one the generated C declares), with
    sram_peak_bytes_no_patch, patch ("6x6@op5" or "none"), input_mode and mac_overhead_pct beside it."""
    from tinycore.cli.steps import export_model
    from tinycore.ir import load_graph
    from tinycore.patch.cli import patch_report

    model = load_float_model(run)
    calib = calibration_data(data, CALIBRATION_PICTURES)
    mem = export_model(task, calib, run, model, model.spec.name, sram_bytes=1 << 40, flash_bytes=1 << 40,
                       strict=False, batch=16, samples=CALIBRATION_PICTURES, meta={"detection": {"stride": model.spec.stride,
                                                                  "outputs": ["heat", "box"]}})
    rep: dict = {}
    patch_report(load_graph(run.graph_path), PATCH, INPUT_MODE, rep, plot=str(run.path / "memory_patches.png"),
                 title=model.spec.name)
    mem = {**mem, "sram_peak_bytes": rep["arena_bytes"], "sram_peak_bytes_no_patch": rep["arena_bytes_no_patch"],
           "patch": rep["patch"], "patch_plan": rep["patch_plan"], "input_mode": INPUT_MODE,
           "mac_overhead_pct": rep["mac_overhead_pct"]}
    run.update_report(budget={"sram_bytes": sram_bytes, "flash_bytes": flash_bytes}, memory=mem)
    log(f"patches {rep['patch']} ({INPUT_MODE}): arena {rep['arena_bytes']:,} B (without patches "
        f"{rep['arena_bytes_no_patch']:,} B), MAC overhead {rep['mac_overhead_pct']:.2f} %")
    over = [f"SRAM arena {mem['sram_peak_bytes']:,} B > --sram {sram_bytes:,} B"] if mem["sram_peak_bytes"] > \
        sram_bytes else []
    over += [f"Flash {mem['flash_bytes']:,} B > --flash {flash_bytes:,} B"] if mem["flash_bytes"] > flash_bytes else []
    if over and strict:
        raise BudgetError(f"{run.graph_path}: " + "; ".join(over) + " (first stage patched "
                          f"{rep['patch']}). Try a smaller input or width.")
    return mem


HEAT_Q = (1 / 256, -128)  # logistic's int8 output (TFLite's fixed scale and zero point)


def head_indices(graph, n_classes: int, where: str) -> tuple[int, int]:
    """(heat, box) output indices of a detector graph: heat has one channel per class on logistic's grid (scale
    1/256, zero point -128), box has 4 channels. A graph without exactly such a pair raises ModelFileError."""
    from tinycore.errors import ModelFileError

    outs = [graph.output_tensor(i) for i in range(len(graph.outputs))]
    desc = ", ".join(f"{t.name} {tuple(t.shape)} scale {float(t.scale[0]):.6g} zp {int(t.zero_point)}" for t in outs)
    heat = [i for i, t in enumerate(outs) if t.shape[-1] == n_classes and len(t.shape) == 4
            and np.isclose(float(t.scale[0]), HEAT_Q[0]) and int(t.zero_point) == HEAT_Q[1]]
    box = [i for i, t in enumerate(outs) if t.shape[-1] == 4 and len(t.shape) == 4 and i not in heat]
    if len(outs) != 2 or len(heat) != 1 or len(box) != 1 or outs[heat[0]].shape[1:3] != outs[box[0]].shape[1:3]:
        raise ModelFileError(f"{where}: a detector has two outputs on one grid, heat (1, gh, gw, {n_classes}) after "
                             f"a logistic (scale 1/256, zero point -128) and box (1, gh, gw, 4); this one has {desc}")
    return heat[0], box[0]


def graph_predictor(graph, n_classes: int, where: str):
    """The int8 predictor (float pictures -> Heads) of a detector graph, through tinycore.runtime."""
    from tinycore.quant import quantize_input
    from tinycore.runtime import run as run_graph

    ih, ib = head_indices(graph, n_classes, where)
    qs = [(float(graph.output_tensor(i).scale[0]), int(graph.output_tensor(i).zero_point)) for i in (ih, ib)]

    def predict_int8(x: np.ndarray) -> Heads:
        outs = [run_graph(graph, q) for q in quantize_input(graph, x)]
        return Heads(np.stack([o[ih][0] for o in outs]), np.stack([o[ib][0] for o in outs]), qs[0], qs[1])

    return predict_int8


def predictors(run: RunDir):
    """(float, int8) predictors returning Heads on the int8 graph's output grid (see apps.detection.evaluate)."""
    from tinycore.ir import load_graph
    from tinycore.runtime.fixedpoint import quantize_float_s8

    model = load_float_model(run)
    graph = load_graph(run.need(run.graph_path, "export"))
    predict_int8 = graph_predictor(graph, len(model.spec.classes), str(run.graph_path))
    qs = [(float(graph.output_tensor(i).scale[0]), int(graph.output_tensor(i).zero_point)) for i in range(2)]

    def predict_float(x: np.ndarray) -> Heads:
        with torch.no_grad():
            outs = [model(torch.from_numpy(x[i:i + 32])) for i in range(0, len(x), 32)]
        heat, box = (np.concatenate([o[j].numpy() for o in outs]).transpose(0, 2, 3, 1) for j in range(2))
        return Heads(quantize_float_s8(heat, *qs[0]), quantize_float_s8(box, *qs[1]), qs[0], qs[1])

    return predict_float, predict_int8


def evaluate_model_file(task: Task, data: TaskData, run: RunDir, path: Path, graph, split: str = "test") -> dict:
    """int8 mAP of a detector made elsewhere (.tflite or .graph with heat + box outputs, head_indices) on `split`,
    its pictures resized to the model's input (any H x W whose grid the outputs give)."""
    from dataclasses import replace

    from apps.detection.task import arrays_at

    n, h, w, c = graph.input_tensor().shape
    heat = graph.output_tensor(head_indices(graph, len(data.classes), str(path))[0])
    if c != 3 or h % heat.shape[1] or w % heat.shape[2] or h // heat.shape[1] != w // heat.shape[2]:
        raise TinycoreError(f"{path}: input {tuple(graph.input_tensor().shape)} is not RGB at a whole stride of "
                            f"its heat grid {tuple(heat.shape[1:3])}")
    stride = h // heat.shape[1]
    arrays, extra = arrays_at({split: data.extra["sets"][split]}, (h, w), stride)
    data = replace(data, **{split: arrays[split]}, input_shape=(3, h, w), extra={**data.extra, "stride": stride})
    metrics = task.evaluate(graph_predictor(graph, len(data.classes), str(path)), data, split, run.path, path.stem)
    inp = graph.input_tensor()
    run.update_report(dataset=data.dataset, model={"file": str(path), "input_hw": [h, w], "stride": stride,
                                                   "input_scale": float(inp.scale[0]),
                                                   "input_zero_point": int(inp.zero_point)},
                      metrics={"split": split, "int8": metrics})
    return metrics


def evaluate(task: Task, data: TaskData, run: RunDir, split: str = "test") -> dict:
    """Float and int8 mAP of `split`; the test split's are the run's headline `metrics`."""
    predict_float, predict_int8 = predictors(run)
    metrics = {"split": split, "float": task.evaluate(predict_float, data, split, run.path, "float"),
               "int8": task.evaluate(predict_int8, data, split, run.path, "int8")}
    run.update_report(**({"metrics": metrics} if split == "test" else {f"metrics_{split}": metrics}))
    return metrics


def _summary(metrics: dict) -> str:
    f, q = metrics["float"], metrics["int8"]
    return (f"{metrics['split']}: float mAP@0.5 {f['map50']:.4f} (mAP@[.5:.95] {f['map50_95']:.4f}), int8 mAP@0.5 "
            f"{q['map50']:.4f} (mAP@[.5:.95] {q['map50_95']:.4f}) on {q['n']} pictures")


def _spec(task: Task, data: TaskData, name: str | None) -> DetectorSpec:
    if name is None:
        return task.default_spec(data)
    if not name.endswith(".json") or not Path(name).is_file():
        raise TinycoreError(f"--model {name}: the detection app takes a detector spec .json (as RUN/detector.json)")
    return spec_from_json(Path(name).read_text())


def cmd_train(task: Task, args) -> int:
    data = _load_data(task, data_options(args))
    run = _run_dir(args, "default")
    _remember_source(run, args)
    section = train(task, data, run, _spec(task, data, args.model), quick=args.quick, seed=args.seed,
                    progress=not args.quiet, epochs=args.epochs)
    _emit(args, section, f"trained -> {run.path}: best val neg_loss {section['best_val_neg_loss']:.4f}")
    return 0


def cmd_export(task: Task, args) -> int:
    data = _load_data(task, data_options(args, splits=("train",)))
    run = _run_dir(args, "default")
    mem = export(task, data, run, sram_bytes=parse_bytes(args.sram), flash_bytes=parse_bytes(args.flash),
                 strict=True)
    _emit(args, {k: v for k, v in mem.items() if k != "per_layer"},
          f"exported {run.graph_path}: arena {mem['sram_peak_bytes']:,} B, flash {mem['flash_bytes']:,} B")
    return 0


def cmd_eval(task: Task, args) -> int:
    if getattr(args, "tflite", None):
        from tinycore.cli.model_file import open_model

        graph = open_model(args.tflite)  # before the data: a bad file fails fast
        data = _load_data(task, data_options(args, splits=(args.split,)))
        run = _run_dir(args, f"eval_{Path(args.tflite).stem}")
        q = evaluate_model_file(task, data, run, Path(args.tflite), graph, split=args.split)
        _emit(args, q, f"{args.split}: {args.tflite} int8 mAP@0.5 {q['map50']:.4f} (mAP@[.5:.95] "
                       f"{q['map50_95']:.4f}) on {q['n']} pictures (report: {run.report_path})")
        return 0
    data = _load_data(task, data_options(args, splits=(args.split,)))
    run = _run_dir(args, "default")
    metrics = evaluate(task, data, run, split=args.split)
    _emit(args, metrics, _summary(metrics))
    return 0


def cmd_demo(task: Task, args) -> int:
    """data -> train -> int8 (patched first stage) -> evaluate -> firmware in QEMU -> report; exit 2 when over the
    budget, 1 when a firmware check fails."""
    from tinycore.cli import steps

    t0 = time.time()
    # where the quick demo's time goes: wall seconds per step, and CPU seconds (this process and its finished
    # children: render workers, the loader's worker, QEMU), which a loaded machine does not inflate
    steps_s: dict[str, float] = {}
    cpu_s: dict[str, float] = {}
    c0 = sum(os.times()[:4])

    def lap(name: str) -> None:
        steps_s[name] = round(time.time() - t0 - sum(steps_s.values()), 1)
        cpu_s[name] = round(sum(os.times()[:4]) - c0 - sum(cpu_s.values()), 1)

    log("[1/5] data", args.quiet)
    data = _load_data(task, data_options(args))  # a set already in --cache-dir is used at its size
    run = _run_dir(args, "demo")
    _remember_source(run, args)
    lap("data")
    log("[2/5] train", args.quiet)
    train(task, data, run, _spec(task, data, args.model), quick=args.quick, seed=args.seed, progress=not args.quiet,
          epochs=args.epochs)
    lap("train")
    log("[3/5] int8 export + memory plan (patches)", args.quiet)
    sram, flash = parse_bytes(args.sram), parse_bytes(args.flash)
    mem = export(task, data, run, sram_bytes=sram, flash_bytes=flash, strict=False)
    lap("export")
    log("[4/5] evaluate float and int8", args.quiet)
    metrics = evaluate(task, data, run)
    lap("eval")
    fw: dict = {}
    if not args.no_firmware and mem["sram_peak_bytes"] <= sram:
        log(f"[5/5] firmware on {args.board} (QEMU)", args.quiet)
        fw = steps.firmware(task, data, run, board=args.board, n_clips=args.n, seed=args.seed,
                            progress=not args.quiet)
        lap("firmware")
    report = run.update_report(demo={"seconds": round(time.time() - t0, 1), "quick": args.quick,
                                     "step_seconds": steps_s, "step_cpu_seconds": cpu_s})
    _emit(args, report, f"run folder: {run.path}\n{_summary(metrics)}\nSRAM arena {mem['sram_peak_bytes']:,} B, "
                        f"Flash {mem['flash_bytes']:,} B\ntook {report['demo']['seconds']} s")
    if fw:
        _check_firmware(task, run, fw)
    if mem["sram_peak_bytes"] > sram or mem["flash_bytes"] > flash:
        raise BudgetError(f"{run.graph_path}: arena {mem['sram_peak_bytes']:,} B / Flash {mem['flash_bytes']:,} B "
                          f"exceed --sram {sram:,} B / --flash {flash:,} B (first stage patched {mem['patch']})")
    return 0


def cmd_search(task: Task, args) -> int:
    """Joint backbone + patch-plan search (apps.detection.search) under --sram/--flash (and --macs), then train,
    export and evaluate the winner; report.json "search" holds the prediction, "memory" what export measured."""
    from apps.detection.search import search_detector, search_section
    from tinycore.budget import Budget
    from tinycore.units import parse_count

    data = _load_data(task, data_options(args))
    run = _run_dir(args, "search")
    _remember_source(run, args)
    budget = Budget(parse_bytes(args.sram), parse_bytes(args.flash), parse_count(args.macs) if args.macs else None)
    small = {"population": 8, "generations": 3} if args.quick else {}
    spec, result = search_detector(tuple(data.classes), tuple(data.input_shape[1:]), budget, seed=args.seed,
                                   progress=not args.quiet, **small)
    section = search_section(result)
    run.update_report(search=section)
    log(f"search: {result.best.arch.short()} with patches {section['patch']}, predicted arena "
        f"{section['predicted_arena_bytes']:,} B, {detector_stats(spec)['macs']:,} MACs", args.quiet)
    train(task, data, run, spec, quick=args.quick, seed=args.seed, progress=not args.quiet, epochs=args.epochs)
    mem = export(task, data, run, sram_bytes=budget.sram_bytes, flash_bytes=budget.flash_bytes, strict=False)
    metrics = evaluate(task, data, run)
    report = run.update_report(search={**section, "exported_arena_bytes": mem["sram_peak_bytes"],
                                       "exported_patch": mem["patch"], "exported_flash_bytes": mem["flash_bytes"]})
    _emit(args, report["search"], f"search winner -> {spec_path(run)}: {_summary(metrics)}; arena predicted "
                                  f"{section['predicted_arena_bytes']:,} B ({section['patch']}), exported "
                                  f"{mem['sram_peak_bytes']:,} B ({mem['patch']})")
    if mem["sram_peak_bytes"] > budget.sram_bytes or mem["flash_bytes"] > budget.flash_bytes:
        raise BudgetError(f"{run.graph_path}: the searched detector's exported arena {mem['sram_peak_bytes']:,} B / "
                          f"Flash {mem['flash_bytes']:,} B exceed the budget (patches {mem['patch']})")
    return 0


COMMANDS = {"train": cmd_train, "export": cmd_export, "eval": cmd_eval, "demo": cmd_demo,
            "firmware": cmd_firmware, "search": cmd_search}
