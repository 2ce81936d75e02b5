"""`python -m apps.<task> data|train|search|export|firmware|eval|demo`: built once, given an app's Task.

Conventions (shared/design.md): --out DIR (run folder, default runs/<app>/<name>), --run DIR (an existing run),
--data-dir DIR (a public data set instead of the built-in one), --quick, --seed, --sram/--flash budgets
(B, KB, MB; 1 KB = 1024 B), --board, --json (machine-readable stdout), --quiet (no progress bars).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tinycore.cli import run_source
from tinycore.cli.errors import run_command
from tinycore.errors import CheckError, TinycoreError
from tinycore.report import RunDir
from tinycore.task import DataOptions, Task, cache_lock, load_task_data
from tinycore.units import parse_bytes, parse_count


def _frontend(args) -> str | None:
    """--frontend, or the one the run folder's data were made with (report.json dataset.frontend_name): a model
    trained on one front end's features must be evaluated and put in firmware with the same one."""
    given = getattr(args, "frontend", None)
    folder = getattr(args, "run", None) or getattr(args, "out", None)
    if folder is None or not hasattr(args, "frontend"):
        return given
    from tinycore.report import RunDir

    used = RunDir(Path(folder)).load_report().get("dataset", {}).get("frontend_name")
    if given is not None and used is not None and given != used:
        raise TinycoreError(f"{folder}: its model was trained with --frontend {used}, not {given}; drop --frontend "
                            f"or choose another run folder")
    return given or used


def data_options(args, splits: tuple[str, ...] = ("train", "val", "test")) -> DataOptions:
    """The DataOptions a command's arguments name (cache folder, --data-dir, seed, size, front end, splits to read);
    public so that an app's own commands read their data as the shared ones do."""
    cache = Path(args.cache_dir) if args.cache_dir else Path("data") / args.task_name / ("quick" if args.quick else
                                                                                          "full")
    return DataOptions(cache_dir=cache, data_dir=Path(args.data_dir) if args.data_dir else None, seed=args.seed,
                       quick=args.quick, progress=not args.quiet, frontend=_frontend(args), splits=splits,
                       bin_quantization=_bin_quantization(args))


def _bin_quantization(args) -> tuple[float, int] | None:
    """An app's --bin-scale / --bin-zero-point (both or neither)."""
    scale, zp = getattr(args, "bin_scale", None), getattr(args, "bin_zero_point", None)
    if (scale is None) != (zp is None):
        raise TinycoreError("give --bin-scale and --bin-zero-point together (the int8 features' quantization)")
    return None if scale is None else (scale, zp)


def _remember_source(run: RunDir, args) -> None:
    from tinycore.train.distributed import is_main_process

    if is_main_process():
        run_source.remember(run, args)


_load_data = load_task_data  # the commands' name for it (tests patch it here)


def _run_dir(args, default_name: str) -> RunDir:
    path = args.run or args.out or str(Path("runs") / args.task_name / default_name)
    return RunDir(Path(path))


def _spec_for(task: Task, data, name: str | None):
    from tinycore.spec import spec_from_json, zoo_spec

    if name is None:
        return task.default_spec(data)
    if name.endswith(".json"):
        return spec_from_json(Path(name).read_text())
    return zoo_spec(name, **_zoo_kwargs(task, data, name))


def _check_model_name(name: str | None) -> None:
    """Fail on a bad --model before minutes of data loading, not after."""
    from tinycore.spec import ZOO, zoo_spec

    if name is None:
        return
    if name.endswith(".json"):
        if not Path(name).is_file():
            raise TinycoreError(f"{name}: no such spec file")
    elif name not in ZOO:
        zoo_spec(name)  # raises SpecError naming the close matches


def _check_teacher(args) -> None:
    """Fail on a bad --teacher before minutes of data loading: a run folder with a trained model, not --search."""
    if getattr(args, "teacher", None) is None:
        return
    if getattr(args, "search", False):
        raise TinycoreError("--teacher trains the reference model; it does not apply to --search")
    run = RunDir(Path(args.teacher))
    if not run.path.is_dir():
        raise TinycoreError(f"--teacher {args.teacher}: no such run folder (one that `train` or `demo` wrote)")
    run.need(run.spec_path, "train")
    run.need(run.checkpoint_path, "train")


def _zoo_kwargs(task: Task, data, name: str) -> dict:
    if name.startswith(("ds_cnn", "tc_resnet")):  # audio nets: the input is frames x coefficients
        return {"classes": len(data.classes), "frames": data.input_shape[1], "coeffs": data.input_shape[2]}
    return {"classes": len(data.classes)} if data.classes else {}


def _emit(args, payload: dict, text: str) -> None:
    from tinycore.train.distributed import is_main_process

    if is_main_process():  # under torchrun, rank 0 speaks for all
        print(json.dumps(payload, indent=1, default=str) if args.json else text)


def cmd_data(task: Task, args) -> int:
    with cache_lock(data_options(args)):
        summary = task.build_data(data_options(args))
    _emit(args, summary, "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0


def cmd_train(task: Task, args) -> int:
    from tinycore.cli import steps

    _check_model_name(args.model)
    _check_teacher(args)
    data = _load_data(task, data_options(args))
    run = _run_dir(args, args.model or "default")
    _remember_source(run, args)
    section = steps.train(task, data, run, _spec_for(task, data, args.model), quick=args.quick, seed=args.seed,
                          progress=not args.quiet, epochs=args.epochs, teacher=args.teacher)
    name = steps.train_metric_name(task)
    _emit(args, section, f"trained -> {run.path}: best val {name} {section[f'best_val_{name}']:.4f}")
    return 0


def cmd_export(task: Task, args) -> int:
    from tinycore.cli import steps

    data = _load_data(task, data_options(args, splits=("train",)))  # calibration reads train clips only
    run = _run_dir(args, "default")
    # over budget: the graph, memory plot and report are written, then BudgetError (exit 2) names what is over
    mem = steps.export(task, data, run, sram_bytes=parse_bytes(args.sram), flash_bytes=parse_bytes(args.flash),
                       strict=True)
    _emit(args, {k: v for k, v in mem.items() if k != "per_layer"},
          f"exported {run.graph_path}: arena {mem['sram_peak_bytes']:,} B, flash {mem['flash_bytes']:,} B "
          f"(memory profile: {run.path / 'memory.png'})")
    return 0


def cmd_eval(task: Task, args) -> int:
    from tinycore.cli import steps

    m = task.metric_name
    if args.tflite:
        from tinycore.cli.eval_model import evaluate_model_file
        from tinycore.cli.model_file import open_model

        graph = open_model(args.tflite)  # before the data: a bad file fails fast
        data = _load_data(task, data_options(args, splits=(args.split,)))
        run = _run_dir(args, f"eval_{Path(args.tflite).stem}")
        labels = tuple(args.labels.split(",")) if args.labels else None
        metrics = evaluate_model_file(task, data, run, args.tflite, split=args.split, labels=labels, graph=graph)
        _emit(args, metrics, f"{args.split}: {args.tflite} int8 {m} {metrics[m]:.4f} on {metrics.get('n', '?')} "
                             f"samples (report: {run.report_path})")
        return 0
    run = _run_dir(args, "default")
    own = args.own_source
    data = _load_data(task, data_options(args, splits=(args.split,)))
    metrics = steps.evaluate(task, data, run, split=args.split, own_data=own)
    m = task.metric_name
    _emit(args, metrics, f"{metrics['key']}: float {m} {metrics['float'][m]:.4f}, int8 {m} "
                         f"{metrics['int8'][m]:.4f} (report.json evaluations[\"{metrics['key']}\"]"
                         f"{' and metrics' if own and args.split == 'test' else ''})")
    return 0


def cmd_firmware(task: Task, args) -> int:
    from tinycore.cli import steps

    data = _load_data(task, data_options(args))
    run = _run_dir(args, "default")
    fw = steps.firmware(task, data, run, board=args.board, n_clips=args.n, seed=args.seed, progress=not args.quiet)
    _emit(args, fw, "firmware: " + ", ".join(f"{k} {v}" for k, v in fw.items() if not isinstance(v, (dict, list))))
    _check_firmware(task, run, fw)
    return 0


def _check_firmware(task: Task, run: RunDir, fw: dict) -> None:
    """Raise CheckError (exit 1, the reason printed last) when one of the task's firmware checks is False."""
    from tinycore.cli import steps

    failed = steps.firmware_failures(task, fw)
    if failed:
        raise CheckError(f"{fw.get('elf', run.path)}: firmware check(s) failed on {fw.get('board')}: "
                         f"{', '.join(failed)} (details in {run.report_path} \"firmware\")")


def cmd_search(task: Task, args) -> int:
    from tinycore.cli import search

    if getattr(args, "boards", None):  # a bad board name fails before minutes of data loading
        from tinycore.nas.boards import board_targets

        board_targets(args.boards.split(","))
    data = _load_data(task, data_options(args))
    run = _run_dir(args, "search")
    _remember_source(run, args)
    if getattr(args, "family", "cnn") == "former":
        if getattr(args, "boards", None):
            raise TinycoreError("--boards searches TinyNAS (CNN) subnets; it does not combine with --family former")
        from tinycore.former.pipeline import former_search_and_export

        report = former_search_and_export(task, data, run, sram_bytes=parse_bytes(args.sram),
                                          flash_bytes=parse_bytes(args.flash), quick=args.quick, seed=args.seed,
                                          progress=not args.quiet, epochs=args.epochs, board=args.board,
                                          macs=parse_count(args.macs) if args.macs else None)
        _emit(args, report, search.summary_text(report))
        return 0
    if getattr(args, "boards", None):
        return _search_boards(task, args, data, run)
    report = search.search_and_export(task, data, run, sram_bytes=parse_bytes(args.sram),
                                      flash_bytes=parse_bytes(args.flash), quick=args.quick, seed=args.seed,
                                      progress=not args.quiet, epochs=args.epochs,
                                      macs=parse_count(args.macs) if args.macs else None)
    if report is not None:  # None on torchrun ranks other than 0
        _emit(args, report, search.summary_text(report))
    return 0


def _search_boards(task: Task, args, data, run: RunDir) -> int:
    """search --boards: one supernet, one model per board (tinycore.cli.boards); the table on stdout."""
    from tinycore.cli import boards

    if args.macs:
        raise TinycoreError("--boards takes each board's SRAM and Flash limits; --macs is not combined with it")
    report = boards.boards_search_and_export(task, data, run, args.boards.split(","), quick=args.quick,
                                             seed=args.seed, progress=not args.quiet,
                                             finetune_epochs=args.epochs or 0, n_clips=args.n,
                                             firmware=not args.no_firmware)
    if report is not None:
        _emit(args, report["search"], boards.boards_summary(report, task.metric_name))
    return 0


def cmd_space(task: Task, args) -> int:
    from tinycore.cli import search

    data = _load_data(task, data_options(args))
    srams = [parse_bytes(v) for v in args.sram.split(",")]
    flashes = [parse_bytes(v) for v in args.flash.split(",")]
    payload, text = search.space_report(task, data, Path(args.out or Path("runs") / args.task_name / "space"),
                                        srams, flashes, args.samples, args.seed)
    _emit(args, payload, text)
    return 0


def cmd_demo(task: Task, args) -> int:
    """data -> train (or search) -> int8 -> firmware in QEMU -> report."""
    from tinycore.cli import steps
    from tinycore.train.distributed import is_main_process

    _check_model_name(args.model)
    _check_teacher(args)
    t0 = time.time()
    quiet = args.quiet
    opts = data_options(args)
    steps.log(f"[1/5] data ({'quick' if args.quick else 'full'} built-in set)" if not args.data_dir else
              f"[1/5] data from {args.data_dir}", quiet)
    data = _load_data(task, opts, build=True)
    run = _run_dir(args, "demo")
    _remember_source(run, args)
    sram, flash = parse_bytes(args.sram), parse_bytes(args.flash)
    if args.search:
        from tinycore.cli import search

        steps.log("[2/5] search (TinyNAS) + train", quiet)
        search.search_and_export(task, data, run, sram_bytes=sram, flash_bytes=flash, quick=args.quick,
                                 seed=args.seed, progress=not quiet, epochs=args.epochs)
    else:
        steps.log("[2/5] train", quiet)
        steps.train(task, data, run, _spec_for(task, data, args.model), quick=args.quick, seed=args.seed,
                    progress=not quiet, epochs=args.epochs, teacher=args.teacher)
    if not is_main_process():
        return 0  # a torchrun rank other than 0: it helped train; rank 0 runs the rest
    if not args.search:  # the search has exported its winner already
        steps.log("[3/5] int8 export + memory plan", quiet)
        steps.export(task, data, run, sram_bytes=sram, flash_bytes=flash, strict=True)
    steps.log("[4/5] evaluate float and int8", quiet)
    steps.evaluate(task, data, run)
    fw = None
    if task.firmware is not None and not args.no_firmware:
        steps.log(f"[5/5] firmware on {args.board} (QEMU)", quiet)
        fw = steps.firmware(task, data, run, board=args.board, n_clips=args.n, seed=args.seed, progress=not quiet)
    report = run.update_report(demo={"seconds": round(time.time() - t0, 1), "quick": args.quick})
    _emit(args, report, demo_summary(task, run, report))
    if fw is not None:
        _check_firmware(task, run, fw)
    return 0


def demo_summary(task: Task, run: RunDir, report: dict) -> str:
    m = task.metric_name
    met, mem, fw = report.get("metrics", {}), report.get("memory", {}), report.get("firmware", {})
    lines = [f"run folder: {run.path}",
             f"data: {report.get('dataset', {}).get('name')} (test split: {report.get('dataset', {}).get('split')})",
             f"model: {report.get('model', {}).get('family')}, {report.get('model', {}).get('params', 0):,} params, "
             f"{report.get('model', {}).get('macs', 0):,} MACs",
             f"{m}: float {met.get('float', {}).get(m, float('nan')):.4f}, int8 {met.get('int8', {}).get(m, float('nan')):.4f}",
             f"SRAM arena {mem.get('sram_peak_bytes', 0):,} B, Flash {mem.get('flash_bytes', 0):,} B"]
    off = report.get("train", {}).get("logit_offset")
    if off:  # the decision offset chosen on val (TrainSettings.offset_class)
        lines.append(f"logit offset of {off['class']} {off['offset']:+.2f}, chosen on val: val {m} "
                     f"{off['val_accuracy_without']:.4f} -> {off['val_accuracy_with']:.4f}")
    lines += _class_lines(met.get("int8", {}))
    if fw and fw.get("emulated") is False:
        lines.append(f"firmware {fw.get('board')} (build only): flash {fw.get('flash_bytes', 0):,} B; "
                     f"flash it with `{fw.get('flash_command')}`")
    elif fw:
        lines.append(f"firmware {fw.get('board')}: outputs match Python {fw.get('outputs_match_runtime')} on "
                     f"{fw.get('n_checked')} clips, {fw.get('instructions_per_inference', 0):,.0f} instructions/inference")
    lines.append(f"took {report.get('demo', {}).get('seconds')} s; report: {run.report_path}")
    return "\n".join(lines)


def _class_lines(metrics: dict) -> list[str]:
    """Per-class recall (and an app's extra rates such as KWS keyword -> _unknown_) of the int8 model: a class
    the model gives up on hides behind a good mean."""
    lines = []
    if metrics.get("per_class_recall"):
        lines.append("int8 recall per class: " + ", ".join(f"{c} {r:.3f}" for c, r in
                                                             metrics["per_class_recall"].items()))
    lines += [f"int8 {k.replace('_', ' ')}: {v:.4f}" for k, v in metrics.items() if k.endswith("_rate")]
    if metrics.get("per_accent"):  # an app that groups test clips by accent (KWS built-in set)
        lines.append("int8 accuracy per accent: " + ", ".join(
            f"{a}{' (held out)' if a == metrics.get('held_out_accent') else ''} {g['accuracy']:.3f}"
            for a, g in metrics["per_accent"].items()))
    for key, what in (("per_noise", "noise kind"), ("per_snr_db", "SNR band (dB)")):  # speech clips (KWS built-in)
        if metrics.get(key):
            lines.append(f"int8 accuracy per {what}: " + ", ".join(
                f"{k} {g['accuracy']:.3f} ({g['n']})" for k, g in metrics[key].items()))
    return lines


def _common(p: argparse.ArgumentParser, task: Task, *, run: bool = False, budget: bool = False,
            board: bool = False) -> None:
    p.add_argument("--data-dir", help="a public data set on disk instead of the built-in one (see the app README)")
    p.add_argument("--cache-dir", help="where the built-in data set is cached (default data/<app>/{quick,full})")
    p.add_argument("--quick", action=argparse.BooleanOptionalAction, default=None,
                   help="small settings that finish in minutes on 2 cores (commands that read a --run take the "
                        "run's setting, as they take its --data-dir, --cache-dir and --seed, unless given)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0, or the run's)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    if task.frontends:
        p.add_argument("--frontend", choices=task.frontends, help=f"input pipeline (default {task.frontends[0]})")
    if run:
        p.add_argument("--out", help=f"run folder to write (default runs/{task.name}/<name>)")
        p.add_argument("--run", help="an existing run folder to read and update")
    if budget:
        p.add_argument("--sram", default=task.default_budget[0], help="SRAM budget for the arena (e.g. 64KB)")
        p.add_argument("--flash", default=task.default_budget[1], help="Flash budget for the model (e.g. 256KB)")
    if board:
        p.add_argument("--board", default=task.default_board,
                       help="emulated board: mps2-an386 (M4F), mps2-an500 (M7), mps2-an385 (M3), "
                            "mps3-an547 (M55); a real board (stm32f412, stm32f746, stm32h743) is built, not run: sizes "
                            "and the flash command")
        p.add_argument("--n", type=int, default=20, help="test clips run in the firmware")


def _teacher_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--teacher", metavar="RUN_DIR",
                   help="distil from the float model of this run folder (one `train` or `demo` wrote): the loss mixes "
                        "the labels' loss with KL to the teacher's softened logits on the same augmented batches "
                        "(the app's distill_weight and temperature, default 0.5 and 4)")


def build_parser(task: Task) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m apps.{task.name}", description=task.description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    p.add_argument("--threads", type=int, default=task.default_threads,
                   help=f"CPU threads of torch and of numpy's BLAS (default {task.default_threads}, the app's choice; "
                        "figures are deterministic for a given count)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("data", help="build (and cache) the built-in data set; print its summary")
    _common(s, task)
    s.set_defaults(fn=cmd_data)
    s = sub.add_parser("train", help="train a model (default: the app's reference model)")
    _common(s, task, run=True)
    s.add_argument("--model", help="zoo name (e.g. ds_cnn_s) or a spec .json; default: the app's reference")
    s.add_argument("--epochs", type=int, help="override the number of epochs")
    _teacher_argument(s)
    s.set_defaults(fn=cmd_train)
    s = sub.add_parser("search", help="TinyNAS under --sram/--flash, then train, quantize and report the winner")
    _common(s, task, run=True, budget=True)
    s.add_argument("--epochs", type=int, help="fine-tune epochs of the winner (default: the app's train epochs; "
                                              "--quick: 8)")
    s.add_argument("--macs", help="also limit multiply-accumulates per inference, e.g. 10M (TinyNAS apps)")
    if task.search_space is not None:
        s.add_argument("--boards", metavar="B1,B2,...",
                       help="one supernet, one model per board (e.g. stm32f412,stm32f746,stm32h743): each board's "
                            "SRAM/Flash replace --sram/--flash; each model is exported, evaluated in int8, built for "
                            "its board and run in QEMU on the emulated board of its core; prints a table. --epochs "
                            "then fine-tunes each subnet that many epochs (default 0: supernet weights)")
        s.add_argument("--n", type=int, default=20, help="with --boards: test inputs run in each firmware")
        s.add_argument("--no-firmware", action="store_true", help="with --boards: skip the firmware builds/runs")
    if task.former_choices is not None:
        s.add_argument("--family", choices=("cnn", "former"), default="cnn",
                       help="cnn: TinyNAS (or the app's search); former: MCUFormer ViT search (space evolution, "
                            "subnet search, fine-tune, int8, firmware on --board)")
        s.add_argument("--board", default=task.default_board, help="emulated board of --family former's firmware run")
    s.set_defaults(fn=cmd_search)
    if task.search_space is not None:
        s = sub.add_parser("space", help="TinyNAS stage 1 only: which width W and resolution R suit the budget "
                                         "(table + MACs CDF plot); comma lists of --sram/--flash give a budget grid",
                           description="Samples subnets of every (W, R) of the app's search space, keeps those whose "
                                       "exact int8 arena and Flash fit, and compares the spaces by the MACs of the "
                                       "fitting subnets. E.g. --sram 32KB,64KB,128KB --flash 128KB,256KB,512KB.")
        _common(s, task, run=True, budget=True)
        s.add_argument("--samples", type=int, default=1000, help="subnets sampled per (W, R) (default 1000)")
        s.set_defaults(fn=cmd_space)
    s = sub.add_parser("export", help="quantize a trained run to int8, plan memory, check the budget")
    _common(s, task, run=True, budget=True)
    s.add_argument("--strict", action="store_true",
                   help="kept for old scripts: export always fails (exit 2) when the model exceeds the budget, "
                        "after writing the graph and report")
    s.set_defaults(fn=cmd_export)
    s = sub.add_parser("eval", help="float and int8 metrics on the test split (held-out speakers/machines)")
    _common(s, task, run=True)
    s.add_argument("--split", default="test", choices=("val", "test"),
                   help="the split to score; it alone is read, so an evaluation-only folder (e.g. the official "
                        "test archive) works with --data-dir")
    s.add_argument("--tflite", metavar="FILE", help="score this int8 .tflite (or graph file) made elsewhere instead "
                                                    "of the run's model; outputs are mapped to the app's classes by name")
    s.add_argument("--labels", help="the --tflite model's class names in output order, comma-separated "
                                    "(default: the app's; KWS: MLPerf's order)")
    s.set_defaults(fn=cmd_eval)
    s = sub.add_parser("firmware", help="build the firmware, run it in QEMU, compare with Python")
    _common(s, task, run=True, board=True)
    s.add_argument("--run-qemu", dest="run_qemu", action="store_true", default=True, help=argparse.SUPPRESS)
    s.set_defaults(fn=cmd_firmware)
    s = sub.add_parser("demo", help="data -> train (or --search) -> int8 -> firmware in QEMU -> report")
    _common(s, task, run=True, budget=True, board=True)
    s.add_argument("--search", action="store_true", help="search the architecture with TinyNAS instead of training "
                                                         "the reference model")
    s.add_argument("--model", help="zoo name or spec .json instead of the app's reference model")
    s.add_argument("--epochs", type=int, help="override the number of training epochs")
    s.add_argument("--no-firmware", action="store_true", help="skip the QEMU firmware step")
    _teacher_argument(s)
    s.set_defaults(fn=cmd_demo)
    if task.extra_arguments is not None:
        for name, parser in sub.choices.items():
            task.extra_arguments(parser, name)
    if task.add_commands is not None:
        task.add_commands(sub)
    return p


READS_RUN = ("export", "eval", "firmware")  # commands that use a trained run's data source unless told otherwise


def _resolve_source(args) -> None:
    if hasattr(args, "seed"):  # not a task extra without the data flags
        run_source.resolve(args, _run_dir(args, "default") if args.command in READS_RUN else None)


def main(task: Task, argv: list[str] | None = None) -> int:
    args = build_parser(task).parse_args(argv)
    args.task_name = task.name
    _resolve_source(args)
    from tinycore.cli.allocator import keep_freed_memory
    from tinycore.cli.threads import limit_threads

    limit_threads(args.threads)
    keep_freed_memory()
    fn = (task.commands or {}).get(args.command, args.fn)
    return run_command(lambda: fn(task, args), args.debug,
                       "run the same command again to resume from the last checkpoint")
