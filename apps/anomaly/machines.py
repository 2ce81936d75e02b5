"""Per-machine models: one autoencoder per machine type (default) or per machine ID (`--per id`), or one pooled
over every machine (`--per pooled`), each with its own int8 calibration (input scale) and alarm threshold.

A deployed sensor watches one machine, and units differ: a model that has to reconstruct every machine spends its
capacity on the differences between them, and one ID's normal may be another's anomaly. The run folder holds one
sub-run per model, RUN/<group>/ (group "fan", "fan_id_00" or "all"), each a complete run (spec, checkpoint, graph,
report); RUN/report.json gathers them: metrics over all test clips (each scored by its own machine's model), the
largest arena and Flash, and the firmware of the machine asked for (`--machine`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinycore.errors import DataError
from tinycore.report import RunDir
from tinycore.task import TaskData

PER_CHOICES = ("type", "id", "pooled")
POOLED = "all"


def group_of(voice: str, per: str) -> str:
    """The model that serves a clip of machine `voice` ("fan/id_00") under `per`."""
    if per == "pooled":
        return POOLED
    if per == "type":
        return voice.split("/")[0]
    if per == "id":
        return voice
    raise DataError(f"--per {per!r}: choose one of {PER_CHOICES}")


def groups(data: TaskData, per: str) -> list[str]:
    """Models `per` needs for the machines of the data set, sorted."""
    return sorted({group_of(v, per) for s in ("train", "test") for v in data.extra["clips"][s]["groups"]})


def folder(group: str) -> str:
    """Sub-run folder name of a group ("fan/id_00" -> "fan_id_00")."""
    return group.replace("/", "_")


def in_group(voice: str, group: str) -> bool:
    return group == POOLED or voice == group or voice.split("/")[0] == group


def select(data: TaskData, group: str) -> TaskData:
    """The clips (and their vectors) of one machine type, one machine ID or all (POOLED); a DataError names the
    machines there are when none matches."""
    keep = {}
    for s in ("train", "val", "test"):
        info = data.extra["clips"][s]
        keep[s] = np.array([in_group(v, group) for v in info["groups"]], bool)
        if info["n_clips"] and not keep[s].any():  # a split the command did not read stays empty
            raise DataError(f"--machine {group}: no {s} clips of that machine; the data set has "
                            f"{', '.join(sorted(set(info['groups'])))}")
    out = subset(data, keep)
    out.dataset["machine"] = group
    return out


def normal_val(data: TaskData) -> TaskData:
    """data with only the normal validation clips: what training stops on and the alarm threshold is set on (the
    anomalous ones, where a val/ folder has them, are for choosing settings)."""
    return subset(data, {"val": data.extra["clips"]["val"]["labels"] == 0})


def subset(data: TaskData, keep: dict[str, np.ndarray]) -> TaskData:
    """The clips of each split whose entry of keep[split] (one bool per clip) is true, with their vectors; splits
    keep does not name stay whole."""
    splits, clips, logmel = {}, {}, {}
    for s in ("train", "val", "test"):
        info = data.extra["clips"][s]
        k = keep.get(s, np.ones(info["n_clips"], bool))
        rows = k[info["clip_index"]]
        old = np.flatnonzero(k)
        remap = np.full(info["n_clips"], -1)
        remap[old] = np.arange(len(old))
        clips[s] = {"clip_index": remap[info["clip_index"][rows]], "n_clips": len(old),
                    "labels": info["labels"][k], "frames": info["frames"][k],
                    **{n: [info[n][i] for i in old] for n in ("groups", "paths", "kinds", "severities")}}
        x, y = getattr(data, s)
        xs = x[rows]
        splits[s] = (xs, xs if y is x else y[rows])
        logmel[s] = data.extra["logmel"][s][k]
    dataset = {**data.dataset, "n_train": clips["train"]["n_clips"],
               "n_val": clips["val"]["n_clips"], "n_test": clips["test"]["n_clips"],
               "n_train_vectors": len(splits["train"][0]), "machines": sorted(set(clips["test"]["groups"]))}
    return TaskData(splits["train"], splits["val"], splits["test"], data.input_shape, data.classes, dataset,
                    {**data.extra, "clips": clips, "logmel": logmel})


def model_for(machine: str, available: list[str]) -> str:
    """The trained group that serves `machine` ("fan/id_00" or "fan"): itself, its type, or the pooled model."""
    for g in (machine, machine.split("/")[0], POOLED):
        if g in available:
            return g
    raise DataError(f"--machine {machine}: this run has no model for it; it has {', '.join(available)}")


def trained_groups(run_path: Path) -> list[str]:
    """Groups with a trained sub-run under run_path, from RUN/report.json `machines`."""
    import json

    rep = RunDir(Path(run_path)).report_path
    doc = json.loads(rep.read_text()) if rep.exists() else {}
    if not doc.get("machines"):
        raise DataError(f"{run_path}: no per-machine models (report.json has no `machines`); run `train` first")
    return list(doc["machines"]["groups"])
