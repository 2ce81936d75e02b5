"""The pipeline steps every app shares: train, export (quantize + plan), evaluate (float and int8), firmware.

Each step reads what earlier steps left in the run folder and records its own section of report.json.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tinycore.errors import BudgetError, TinycoreError
from tinycore.progress import log
from tinycore.report import RunDir
from tinycore.task import FirmwareRequest, Task, TaskData

CALIBRATION_SAMPLES = 512


def model_section(spec) -> dict:
    from tinycore.spec import model_stats, spec_to_json

    stats = model_stats(spec)
    return {"family": spec.name or "custom", "spec": json.loads(spec_to_json(spec)), "params": stats["params"],
            "macs": stats["macs"]}


def load_spec(run: RunDir):
    from tinycore.spec import spec_from_json

    return spec_from_json(run.need(run.spec_path, "train").read_text())


def load_float_model(run: RunDir):
    import torch

    from tinycore.spec import build_model
    from tinycore.train.logit_offset import apply_recorded

    model = build_model(load_spec(run))
    ckpt = torch.load(run.need(run.checkpoint_path, "train"), map_location="cpu", weights_only=False)
    model.load_state_dict(ckpt["model"])
    apply_recorded(model, ckpt)  # the decision offset train chose on val (none without TrainSettings.offset_class)
    return model.eval()


def data_for_run(task: Task, data: TaskData, run: RunDir) -> TaskData:
    """`data` at the input shape of the run's model (Task.data_at_shape): a network searched at another
    resolution is exported, evaluated and run in firmware on its own input size. Unchanged when the shapes agree,
    the run has no spec yet or the app has one input shape only."""
    from tinycore.spec.layers import ModelSpec

    if task.data_at_shape is None or not run.spec_path.exists():
        return data
    try:
        spec = load_spec(run)
    except TinycoreError:
        return data  # not a tinycore.spec model (an app's own spec file): its app handles its input
    if not isinstance(spec, ModelSpec):
        return data
    shape = (spec.input.channels, spec.input.height, spec.input.width)
    return data if tuple(data.input_shape) == shape else task.data_at_shape(data, shape)


def run_patch_plan(run: RunDir) -> tuple[str, str] | None:
    """(plan in --patch form, input mode) the run's search chose with its network (report.json "search"), or None:
    export plans the arena with it and the firmware runs it. Only while the run's model is the searched one."""
    s = run.load_report().get("search", {})
    best = run.path / "search" / "best_spec.json"  # where tinycore.cli.search puts the search's files
    if not (s.get("patch_plan") and s.get("input_mode") and best.is_file() and run.spec_path.is_file()):
        return None
    if best.read_text() != run.spec_path.read_text():
        return None  # the run's model is no longer the searched one (trained over since)
    return str(s["patch"]), str(s["input_mode"])


def patched_memory(graph, patch: str, input_mode: str, plot: Path, title: str) -> dict:
    """report.json "memory" fields of a graph whose first stage runs by patches (tinycore.patch): the arena the
    generated C declares (sram_peak_bytes), beside the unpatched one, the plan and its MAC overhead."""
    from tinycore.patch.cli import patch_report

    rep: dict = {}
    patch_report(graph, patch, input_mode, rep, plot=str(plot), title=title)
    return {"sram_peak_bytes": rep["arena_bytes"], "sram_peak_bytes_no_patch": rep["arena_bytes_no_patch"],
            "patch": rep["patch"], "patch_plan": rep["patch_plan"], "input_mode": input_mode,
            "mac_overhead_pct": rep["mac_overhead_pct"]}


def train_metric_name(task: Task) -> str:
    """The name of task.metric (the validation metric training maximizes) in reports: `best_val_<name>`."""
    return task.train_metric_name or task.metric_name


def load_teacher(path: str | Path, data: TaskData):
    """The float model of a run folder this project wrote (spec.json + checkpoint.pt, with the decision offset its
    training chose), checked to read `data`'s inputs and give one logit per class: the teacher of `--teacher`."""
    import torch

    model = load_float_model(RunDir(Path(path)))
    shape = tuple(data.input_shape)
    try:
        with torch.no_grad():
            out = model(torch.zeros((1, *shape)))
    except RuntimeError as e:
        raise TinycoreError(f"--teacher {path}: its model does not read inputs of shape {shape}: "
                            f"{str(e).splitlines()[0]}") from None
    if tuple(out.shape) != (1, len(data.classes)):
        raise TinycoreError(f"--teacher {path}: its model gives {tuple(out.shape[1:])} outputs, the task "
                            f"{len(data.classes)} classes")
    return model


def train(task: Task, data: TaskData, run: RunDir, spec, *, quick: bool, seed: int, progress: bool,
          epochs: int | None = None, init_model=None, settings=None, teacher: str | Path | None = None) -> dict:
    """Train `spec` on the task's data; the best-val weights end in run/checkpoint.pt. `init_model` (a model of
    `spec`, e.g. a subnet with its supernet weights) is fine-tuned instead of a fresh one, with `settings` (a
    TrainSettings) when given, else the task's. `teacher` (a run folder) distils its float model into this one on
    the same (augmented) batches, with the settings' distill_weight and temperature (tinycore.train.fit)."""
    import torch

    from tinycore.cli.kernels import kernels_in_use
    from tinycore.spec import build_model, spec_to_json
    from tinycore.train import distributed, fit

    settings = settings or task.train_settings(quick)
    torch.manual_seed(seed)
    run.path.mkdir(parents=True, exist_ok=True)
    if run.spec_path.exists() and run.spec_path.read_text() != spec_to_json(spec) and run.checkpoint_path.exists():
        raise TinycoreError(f"{run.path} holds a checkpoint of another architecture; choose a new --out")
    run.spec_path.write_text(spec_to_json(spec))
    model = build_model(spec) if init_model is None else init_model
    teacher_model = load_teacher(teacher, data) if teacher is not None else None
    xv, yv = (torch.from_numpy(a) for a in data.val)
    if task.train_loader is not None:
        train_data = task.train_loader(data, settings.batch_size, progress)
    else:
        train_data = tuple(torch.from_numpy(a) for a in data.train)
    result = fit(model, train_data, (xv, yv), epochs=epochs or settings.epochs, lr=settings.lr, loss=task.loss,
                 metric=task.metric, out_dir=run.path, patience=settings.patience, batch_size=settings.batch_size,
                 weight_decay=settings.weight_decay, progress=progress, seed=seed, ema_decay=settings.ema_decay,
                 mixup_alpha=settings.mixup_alpha, teacher=teacher_model, distill_weight=settings.distill_weight,
                 temperature=settings.temperature)
    section = {"epochs": result.epochs_run, "best_epoch": result.best_epoch,
               f"best_val_{train_metric_name(task)}": result.best_metric, "lr": settings.lr,
               "batch_size": settings.batch_size, "ema_decay": settings.ema_decay,
               "mixup_alpha": settings.mixup_alpha, "cpu_kernels": kernels_in_use()}
    if teacher is not None:
        section["teacher"] = {"run": str(teacher), "distill_weight": settings.distill_weight,
                              "temperature": settings.temperature}
    if settings.offset_class and distributed.is_main_process():
        section["logit_offset"] = _choose_offset(model, data, run, settings.offset_class)
    if distributed.is_main_process():  # under torchrun only rank 0 writes the run folder
        run.update_report(app=task.name, dataset=data.dataset, model=model_section(spec), train=section)
    return section


def _choose_offset(model, data: TaskData, run: RunDir, name: str) -> dict:
    """The decision offset of class `name`, chosen on val, folded into the trained model and kept in its
    checkpoint (load_float_model applies it: export, eval and firmware all see the shifted classifier)."""
    import torch

    from tinycore.train.logit_offset import CHECKPOINT_KEY, calibrate
    from tinycore.train.loop import save_checkpoint

    section = calibrate(model.cpu(), tuple(data.classes), name, data.val, data.test)
    ckpt = torch.load(run.checkpoint_path, map_location="cpu", weights_only=False)
    ckpt[CHECKPOINT_KEY] = {"index": section["index"], "offset": section["offset"]}
    save_checkpoint(run.checkpoint_path, ckpt)
    log(f"logit offset of {name}: {section['offset']:+.2f} (val {section['val_accuracy_without']:.4f} -> "
        f"{section['val_accuracy_with']:.4f})")
    return section


def export(task: Task, data: TaskData, run: RunDir, *, sram_bytes: int, flash_bytes: int, strict: bool) -> dict:
    """Quantize the trained model with training clips as calibration; plan memory (with the patch plan the run's
    search chose, if any); draw the memory profile."""
    return export_model(task, data_for_run(task, data, run), run, load_float_model(run),
                        load_spec(run).name or "model", sram_bytes=sram_bytes, flash_bytes=flash_bytes,
                        strict=strict, patch=run_patch_plan(run))


def export_model(task: Task, data: TaskData, run: RunDir, model, name: str, *, sram_bytes: int, flash_bytes: int,
                 strict: bool, batch: int = 64, samples: int = CALIBRATION_SAMPLES, meta: dict | None = None,
                 hint: str = "Try `search` with this budget, or a smaller model.",
                 patch: tuple[str, str] | None = None) -> dict:
    """export() for any float torch model (an app's own, e.g. with several outputs): calibrate on up to
    `samples` training samples in batches of `batch`, save the graph (with graph.meta updated by `meta`),
    plan memory and check the budget (BudgetError when `strict`, after writing everything; `hint` ends it).
    `patch` (plan, input mode): the first stage runs by patches; the budget is checked on that arena."""
    import torch

    from tinycore.memory import flash_bytes as graph_flash, per_layer_rows, plan_graph, plot_memory_profile
    from tinycore.memory.graph_plan import ARENA_LIMIT_KEY
    from tinycore.quant import quantize

    rng = np.random.default_rng(0)
    x = data.train[0]
    pick = rng.choice(len(x), size=min(samples, len(x)), replace=False)
    calib = [torch.from_numpy(x[pick[i:i + batch]]) for i in range(0, len(pick), batch)]
    graph = quantize(model, calib)
    graph.meta["classes"] = list(data.classes)
    graph.meta[ARENA_LIMIT_KEY] = int(sram_bytes)  # later plans (firmware too) fill the budget with faster kernels
    graph.meta.update(meta or {})
    graph.save(run.graph_path)
    plan = plan_graph(graph)
    flash = graph_flash(graph)
    plot_memory_profile(plan, run.path / "memory.png", f"{task.name} {name}")
    smallest = plan_graph(graph, arena_limit=0).arena_bytes  # what the search's cost model predicts
    memory = {"sram_peak_bytes": plan.arena_bytes, "sram_smallest_bytes": smallest, "flash_bytes": flash,
              "per_layer": per_layer_rows(plan)}
    if patch is not None:
        memory.update(patched_memory(graph, *patch, run.path / "memory_patches.png", f"{task.name} {name}"))
        log(f"patches {memory['patch']} ({memory['input_mode']}): arena {memory['sram_peak_bytes']:,} B (without "
            f"patches {plan.arena_bytes:,} B), MAC overhead {memory['mac_overhead_pct']:.2f} %")
    run.update_report(budget={"sram_bytes": sram_bytes, "flash_bytes": flash_bytes}, memory=memory)
    arena = memory["sram_peak_bytes"]
    over = [f"SRAM arena {arena:,} B > --sram {sram_bytes:,} B"] if arena > sram_bytes else []
    over += [f"Flash {flash:,} B > --flash {flash_bytes:,} B"] if flash > flash_bytes else []
    if over and strict:
        raise BudgetError(f"{run.graph_path}: " + "; ".join(over) + ". " + hint)
    for line in over:
        log(f"warning: {line}")
    return memory


def predictors(run: RunDir):
    """(float predict, int8 predict) over float features; the int8 one runs the numpy integer runtime."""
    import torch

    from tinycore.ir import load_graph
    from tinycore.quant import dequantize_output, quantize_input
    from tinycore.runtime import run as run_graph

    model = load_float_model(run)
    graph = load_graph(run.need(run.graph_path, "export"))

    def predict_float(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.concatenate([model(torch.from_numpy(x[i:i + 256])).numpy() for i in range(0, len(x), 256)])

    def predict_int8(x: np.ndarray) -> np.ndarray:
        q = quantize_input(graph, x)
        y = np.stack([run_graph(graph, s) for s in q])
        return dequantize_output(graph, y.reshape(len(q), *y.shape[2:]) if y.shape[1] == 1 else y)

    return predict_float, predict_int8


def evaluation_key(data: TaskData, split: str) -> str:
    """The name of one evaluation in report.json "evaluations": the data set's name and the split, e.g.
    "speech_commands_test_set_v0.02:test"."""
    return f"{data.dataset.get('name') or 'data'}:{split}"


def evaluation_dir(run: RunDir, key: str) -> Path:
    """Where an evaluation on other data keeps its plots and per-sample files: run/evaluations/<key>/."""
    return run.path / "evaluations" / key.replace(":", "_").replace("/", "_")


def evaluate(task: Task, data: TaskData, run: RunDir, split: str = "test", own_data: bool = True) -> dict:
    """Float and int8 metrics of `split`, kept in report.json under evaluations[evaluation_key]; with the run's
    own data and the test split they are also the run's headline `metrics`. An evaluation on other data draws its
    plots in run/evaluations/<key>/ so that the run's own stay."""
    from tinycore.cli.eval_model import check_input_quantization
    from tinycore.ir import load_graph

    data = data_for_run(task, data, run)
    check_input_quantization(load_graph(run.need(run.graph_path, "export")), data, run.graph_path)
    predict_float, predict_int8 = predictors(run)
    key = evaluation_key(data, split)
    plots = run.path if own_data else evaluation_dir(run, key)
    plots.mkdir(parents=True, exist_ok=True)
    metrics = {"split": split, "float": task.evaluate(predict_float, data, split, plots, "float"),
               "int8": task.evaluate(predict_int8, data, split, plots, "int8")}
    evaluations = run.load_report().get("evaluations", {})
    evaluations[key] = {**metrics, "own_data": own_data,
                        "dataset": {**{k: data.dataset.get(k) for k in ("name", "source", f"n_{split}")},
                                    **{k: data.dataset[k] for k in ("input_quantization",) if k in data.dataset}}}
    sections = {"evaluations": evaluations}
    if own_data and split == "test":
        sections["metrics"] = metrics
    run.update_report(**sections)
    return {"key": key, **metrics}


def firmware(task: Task, data: TaskData, run: RunDir, *, board: str, n_clips: int, seed: int,
             progress: bool) -> dict:
    """Build the task's firmware and, on an emulated board, run and check it. A real board (build only) stops
    after the first image is built: the section then holds its sizes and flash command, `emulated` False and no
    check results."""
    from tinycore.export.app_firmware import NotEmulated, image_section

    if task.firmware is None:
        raise TinycoreError(f"the {task.name} app has no firmware target yet")
    try:
        section = task.firmware(FirmwareRequest(run.path, run.need(run.graph_path, "export"), board,
                                                data_for_run(task, data, run), n_clips,
                                                seed, progress))
    except NotEmulated as built:
        img = built.app.image
        section = {**image_section(built.app), "emulated": False, "bin": str(img.bin), "hex": str(img.hex),
                   "flash_command": img.flash_command, "n_checked": 0}
    memory = run.load_report().get("memory", {})
    if "sram_total_bytes" in section:  # measured in QEMU: the whole SRAM of the image, beside the planned arena
        memory = {**memory, "sram_total_bytes": section["sram_total_bytes"]}
    run.update_report(firmware=section, memory=memory)
    return section


def firmware_failures(task: Task, section: dict) -> list[str]:
    """The task's firmware checks that are False in `section` (a check not run, as on a build-only board, is
    not a failure)."""
    return [name for name in task.firmware_checks if section.get(name) is False]
