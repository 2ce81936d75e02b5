"""Open whatever MODEL the user names: a tinycore graph file or an int8 .tflite."""
from __future__ import annotations

from pathlib import Path

from tinycore.errors import ModelFileError
from tinycore.ir import Graph, load_graph

TFLITE_MAGIC = b"TFL3"


def is_tflite(path: Path) -> bool:
    if path.suffix.lower() == ".tflite":
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head[4:8] == TFLITE_MAGIC


def open_model(path: str | Path) -> Graph:
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder; give a .graph or .tflite file")
    if is_tflite(path):
        from tinycore.tflite import load_model

        return load_model(path)
    return load_graph(path)
