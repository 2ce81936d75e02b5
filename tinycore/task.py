"""The Task contract: what an app gives `tinycore.cli.app.main` so that every app has the same subcommands.

An app describes its data, its default model, how it scores a model and how its firmware runs; the CLI, training,
quantization, export and reports are built once in tinycore.
"""
from __future__ import annotations

import argparse
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class DataOptions:
    """Where the data come from: the built-in generator (cached under cache_dir) or a public set in data_dir."""
    cache_dir: Path
    data_dir: Path | None = None
    seed: int = 0
    quick: bool = False
    progress: bool = True
    frontend: str | None = None  # `--frontend NAME` (one of Task.frontends); None = the app's default
    # the splits the command reads: `eval` asks for the one it scores, `export` for train (calibration), so an
    # evaluation-only folder (a test archive with no train clips) can be read; a loader may leave the others empty
    splits: tuple[str, ...] = ("train", "val", "test")
    # (scale, zero point) of int8 feature files in data_dir, which such folders do not record (KWS: an MLPerf .bin
    # evaluation folder, `eval --bin-scale/--bin-zero-point`); None: the loader's documented default
    bin_quantization: tuple[float, int] | None = None


@dataclass(frozen=True)
class TaskData:
    """Model-ready data: float features in the model's input layout (N, C, H, W) or (N, F), and targets."""
    train: tuple[NDArray[np.float32], NDArray]
    val: tuple[NDArray[np.float32], NDArray]
    test: tuple[NDArray[np.float32], NDArray]
    input_shape: tuple[int, ...]  # one sample, torch layout
    classes: tuple[str, ...]  # class names (empty for non-classification tasks)
    dataset: dict[str, Any]  # report.json "dataset": name, source, n_train, n_val, n_test, split, noise ...
    extra: dict[str, Any] = field(default_factory=dict)  # task-specific (e.g. clip ids for per-clip scores)


@dataclass(frozen=True)
class TrainSettings:
    epochs: int
    lr: float
    batch_size: int = 64
    weight_decay: float = 1e-4
    patience: int | None = None
    ema_decay: float | None = None  # keep an EMA of the weights for validation and export (tinycore.train.ema)
    mixup_alpha: float | None = None  # mixup of training batches (tinycore.train.mixup)
    offset_class: str | None = None  # after training, a logit offset for this class chosen on val and folded into
    # the last bias (tinycore.train.logit_offset): the decision threshold of e.g. `_unknown_`
    distill_weight: float = 0.5  # with a teacher (`train --teacher RUN`): share of the distillation term in the loss
    temperature: float = 4.0  # and the softening of both models' logits (tinycore.train.loop.distillation_loss)


# predict(features float (N, ...)) -> model outputs (N, ...) as float: the same call for float and int8 models
Predict = Callable[[NDArray[np.float32]], NDArray[np.float32]]


@dataclass(frozen=True)
class FirmwareRequest:
    run_dir: Path
    graph_path: Path
    board: str
    data: TaskData
    n_clips: int
    seed: int
    progress: bool = True

    def log(self, msg: str) -> None:
        """A progress line on stderr, unless the command runs with --quiet."""
        from tinycore.progress import log

        log(msg, quiet=not self.progress)


@dataclass(frozen=True)
class AppSearchResult:
    """What an app-specific search (Task.search) hands back: the winner and the memory its search predicted, which
    the `search` command checks against the exported int8 graph (they must be equal)."""
    spec: Any  # tinycore.spec.ModelSpec of the winner
    predicted_arena_bytes: int
    predicted_flash_bytes: int
    model: Any = None  # the trained torch.nn.Module, or None: `search` then trains `spec` with the task's settings
    details: dict[str, Any] = field(default_factory=dict)  # extra report "search" fields (candidates, scores ...)


# search(task, data, run_dir, sram_bytes, flash_bytes, quick, seed, progress) -> AppSearchResult
AppSearch = Callable[["Task", TaskData, Path, int, int, bool, int, bool], AppSearchResult]


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    build_data: Callable[[DataOptions], dict]  # `data`: build/cache the built-in set; returns a summary for stdout
    load_data: Callable[[DataOptions], TaskData]
    default_spec: Callable[[TaskData], Any]  # -> tinycore.spec.ModelSpec
    train_settings: Callable[[bool], TrainSettings]  # quick -> settings
    loss: Callable  # loss(outputs, targets) for tinycore.train.fit
    metric: Callable  # metric(outputs, targets) -> float, higher is better
    evaluate: Callable[[Predict, TaskData, str, Path, str], dict]  # (predict, data, split, run_dir, tag) -> metrics
    metric_name: str = "accuracy"
    train_metric_name: str | None = None  # name of `metric` in reports when it is not metric_name (e.g. neg_mse)
    search_space: Callable[[TaskData], Any] | None = None  # -> tinycore.nas.SearchSpace
    search: AppSearch | None = None  # app-specific search, used by `search` when search_space is None
    # ViT choices for `search --family former`: data -> tinycore.former.pipeline.FormerSetup (None: not offered)
    former_choices: Callable[[TaskData], Any] | None = None
    # training data with train-time augmentation: (data, batch_size, progress) -> what tinycore.train.fit takes;
    # None trains on data.train as it is
    train_loader: Callable[[TaskData, int, bool], Any] | None = None
    # the data for a model whose input differs from data.input_shape (an image model searched at resolution R):
    # (data, (C, H, W)) -> TaskData; `search`, `export`, `eval` and `firmware` call it; None: one input shape only
    data_at_shape: Callable[[TaskData, tuple[int, ...]], TaskData] | None = None
    # a tinycore.nas.JointConfig (grids, input mode "frame" or "stream", MAC-overhead cap): `search` then plans
    # patches with the network (tinycore.nas.joint) when the search space declares patch stages; None: no patches
    search_patches: Any = None
    firmware: Callable[[FirmwareRequest], dict] | None = None  # -> report "firmware" section
    # the "firmware" section's booleans that must be True: `firmware` and `demo` exit 1 when one is False
    firmware_checks: tuple[str, ...] = ("outputs_match_runtime",)
    # what the app's firmware needs beside the model's arena and the kernels' stack: the static RAM of its own
    # sources (main loop, front end, test data) plus their stack frames (gcc -fstack-usage), an upper bound that a
    # test of the app checks on a build; `search --boards` takes it off each board's SRAM (tinycore.nas.boards)
    firmware_ram_bytes: int = 0
    default_budget: tuple[str, str] = ("64KB", "256KB")
    default_board: str = "mps2-an386"
    # torch/BLAS threads when `--threads` is not given: 1 suits small models on a shared machine; an app that
    # trains big images (inspect's 224x224 MobileNetV1) takes 2, fixed rather than "every core" so that its figures
    # do not depend on the machine's core count
    default_threads: int = 1
    add_commands: Callable[[argparse._SubParsersAction], None] | None = None  # task extras such as `stream`
    frontends: tuple[str, ...] = ()  # input pipelines `--frontend` can pick (first = default); () = no option
    # class names, in output order, of models made elsewhere (`eval --tflite`); mapped to `classes` by name
    model_labels: tuple[str, ...] | None = None
    # app options of a shared command: (its parser, its name); e.g. anomaly's --machine / --per
    extra_arguments: Callable[[argparse.ArgumentParser, str], None] | None = None
    # app versions of shared commands by name: fn(task, args) -> exit code (e.g. anomaly's per-machine train)
    commands: dict[str, Callable[["Task", argparse.Namespace], int]] | None = None


@contextmanager
def cache_lock(opts: DataOptions) -> Iterator[None]:
    """Exclusive lock on the data cache folder: concurrent processes (torchrun ranks, two commands at once) build
    the built-in set and its feature cache once; the others wait, then read it."""
    import fcntl

    Path(opts.cache_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(opts.cache_dir) / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def load_task_data(task: Task, opts: DataOptions, build: bool = False) -> TaskData:
    """An app's data as its own commands read them, under the cache lock; `build` renders the built-in set first
    when it is not cached (what `optimize --data APP` and the demos need)."""
    with cache_lock(opts):
        if build:
            task.build_data(opts)
        return task.load_data(opts)
