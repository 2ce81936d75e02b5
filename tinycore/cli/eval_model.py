"""`eval --tflite FILE`: score a model made elsewhere (any int8 .tflite or graph file) on the app's split.

The model runs through our importer and the numpy integer runtime on the app's float features, quantized with the
model's own input scale and zero point. Its output classes are put in the app's order by name, since a model
trained elsewhere (MLPerf's reference KWS model) may list them in another order.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tinycore.errors import ModelFileError
from tinycore.ir import Graph
from tinycore.report import RunDir
from tinycore.task import Task, TaskData


def class_order(model_labels: tuple[str, ...], app_classes: tuple[str, ...], n_outputs: int,
                model_path: Path) -> NDArray[np.int64]:
    """Index of each app class among the model's outputs; an error names the labels that do not match."""
    if len(model_labels) != n_outputs:
        raise ModelFileError(f"{model_path}: {n_outputs} outputs but {len(model_labels)} labels "
                             f"({','.join(model_labels)}); give the model's labels in output order with --labels")
    missing = [c for c in app_classes if c not in model_labels]
    if missing:
        raise ModelFileError(f"{model_path}: the app's classes {missing} are not among the model's labels "
                             f"{list(model_labels)}; give them with --labels")
    return np.array([model_labels.index(c) for c in app_classes])


def check_input_quantization(graph: Graph, data: TaskData, model_path: Path | str) -> None:
    """Data read from int8 feature files (TaskData.extra["input_quantization"]: the scale and zero point they were
    quantized with) reach the models as float; the int8 model must quantize every int8 value back to itself, so
    that it scores exactly the files' bytes. Otherwise a ModelFileError names both quantizations."""
    from tinycore.runtime.fixedpoint import quantize_float_s8

    given = data.extra.get("input_quantization")
    if given is None:
        return
    t = graph.input_tensor()
    scale, zp = float(t.scale[0]), int(t.zero_point)
    q = np.arange(-128, 128, dtype=np.int8)
    x = (q.astype(np.float32) - np.float32(given["zero_point"])) * np.float32(given["scale"])
    if not np.array_equal(quantize_float_s8(x, scale, zp), q):
        raise ModelFileError(f"{model_path}: input quantization scale {scale!r}, zero point {zp} does not match "
                             f"the int8 features of {given['source']} (scale {given['scale']!r}, zero point "
                             f"{given['zero_point']}, {given['assumed']}); give the features' own quantization "
                             f"with {given['option']}, or score a model whose input takes them as they are")


def evaluate_model_file(task: Task, data: TaskData, run: RunDir, model_path: str | Path, split: str = "test",
                        labels: tuple[str, ...] | None = None, graph: Graph | None = None) -> dict:
    """Metrics of the int8 model in model_path on data's split, written to run's report.json.

    graph: the file already opened (the CLI opens it before loading data, so a bad file fails fast)."""
    from tinycore.cli.model_file import open_model
    from tinycore.errors import TinycoreError
    from tinycore.quant import dequantize_output, quantize_input
    from tinycore.runtime import run as run_graph

    model_path = Path(model_path)
    graph = graph if graph is not None else open_model(model_path)
    check_input_quantization(graph, data, model_path)
    x, _ = getattr(data, split)
    try:
        quantize_input(graph, x[:1])
    except TinycoreError as e:
        raise ModelFileError(f"{model_path}: does not take the app's features {tuple(data.input_shape)}: {e}") from None
    n_out = int(np.prod(graph.output_tensor().shape[1:]))
    order = np.arange(n_out)
    if data.classes:
        order = class_order(tuple(labels or task.model_labels or data.classes), tuple(data.classes), n_out,
                            model_path)

    def predict(feats: NDArray[np.float32]) -> NDArray[np.float32]:
        q = quantize_input(graph, feats)
        y = np.stack([run_graph(graph, s) for s in q]).reshape(len(q), -1)
        return dequantize_output(graph, y)[:, order]

    metrics = task.evaluate(predict, data, split, run.path, model_path.stem)  # confusion_<stem>.png
    inp = graph.input_tensor()
    run.update_report(dataset=data.dataset, model={"file": str(model_path), "input_scale": float(inp.scale[0]),
                                                   "input_zero_point": int(inp.zero_point),
                                                   "labels": list(labels or task.model_labels or data.classes)},
                      metrics={"split": split, "int8": metrics})
    return metrics
