"""`import_model(path)`: the reader by file type, then spec + weights loaded into the built float module."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinycore.errors import ModelFileError
from tinycore.importers.load import load_weights
from tinycore.importers.to_spec import graph_to_spec
from tinycore.spec.build import SpecModel, build_model
from tinycore.spec.layers import ModelSpec

TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript", ".jit")


@dataclass
class ImportedModel:
    spec: ModelSpec
    model: SpecModel     # float, eval mode, NCHW input (batch, C, H, W)
    source: str
    format: str          # 'torchscript' | 'onnx' | 'tflite'


def read_graph(path: Path, input_shape: tuple[int, ...] | None = None):
    """The FloatGraph of `path`, reader chosen by suffix."""
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        from tinycore.importers.onnx import read_onnx
        return read_onnx(path), "onnx"
    if suffix == ".tflite":
        from tinycore.importers.tflite_float import read_tflite_float
        return read_tflite_float(path), "tflite"
    if suffix in TORCHSCRIPT_SUFFIXES:
        from tinycore.importers.torchscript import read_torchscript
        return read_torchscript(path, input_shape), "torchscript"
    raise ModelFileError(f"{path}: unknown model type '{suffix}'; import reads .onnx, .tflite (float) and "
                         f"TorchScript ({', '.join(TORCHSCRIPT_SUFFIXES)})")


def import_model(path: str | Path, input_shape: tuple[int, ...] | None = None) -> ImportedModel:
    """Parse a float model file into a spec and a float torch module holding its weights.

    `input_shape` (C, H, W) is needed only for a TorchScript file that was scripted rather than traced."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    graph, fmt = read_graph(path, input_shape)
    spec, parsed = graph_to_spec(graph, name=path.stem)
    model = load_weights(build_model(spec), parsed).eval()
    return ImportedModel(spec, model, str(path), fmt)
