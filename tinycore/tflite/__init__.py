"""The TFLite bridge: int8 .tflite <-> integer graph, bit-exact with TFLite Micro.

    load_model(path) -> Graph            a .tflite or a .graph file (chosen by magic bytes, then suffix)
    convert(in_path, out_path) -> Path   .tflite -> .graph or .graph -> .tflite
    analyze_ops(path) -> [(op, count, supported)]   every op a model needs, before anything is generated
    import_tflite(path) -> Graph, export_tflite(graph, path) -> Path, export_tflite_bytes(graph) -> bytes
"""
from __future__ import annotations

import os
from pathlib import Path

from tinycore.errors import ModelFileError, UnsupportedError
from tinycore.ir import Graph, load_graph
from tinycore.tflite.exporter import export_tflite_bytes
from tinycore.tflite.importer import SUPPORTED_OPS, import_model
from tinycore.tflite.reader import TFLITE_IDENTIFIER, read_model

__all__ = ["load_model", "convert", "analyze_ops", "import_tflite", "export_tflite", "export_tflite_bytes",
           "is_tflite", "SUPPORTED_OPS"]


def is_tflite(path: str | Path) -> bool:
    """True for a file with the TFLite identifier at bytes 4..8, or (when unreadable/short) a .tflite suffix."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        head = b""
    if len(head) == 8 and head[4:8] == TFLITE_IDENTIFIER:
        return True
    if head[:2] == b"PK":  # a zip: our graph file
        return False
    return path.suffix.lower() == ".tflite"


def import_tflite(path: str | Path) -> Graph:
    """Read and translate an int8 .tflite; ModelFileError (damaged) or UnsupportedError (op, dtype) otherwise."""
    return import_model(read_model(path))


def load_model(path: str | Path) -> Graph:
    """A model file the CLI was given: a .tflite is imported, anything else is read as a graph file."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    return import_tflite(path) if is_tflite(path) else load_graph(path)


def export_tflite(graph: Graph, path: str | Path) -> Path:
    """Write the graph as a .tflite (atomically: a temporary file, then rename)."""
    path = Path(path)
    data = export_tflite_bytes(graph)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def convert(in_path: str | Path, out_path: str | Path) -> Path:
    """Convert between .tflite and our .graph file; the output format is chosen by out_path's suffix."""
    out_path = Path(out_path)
    graph = load_model(in_path)
    if out_path.suffix.lower() == ".tflite":
        return export_tflite(graph, out_path)
    if out_path.suffix.lower() in (".graph", ""):
        return graph.save(out_path if out_path.suffix else out_path.with_suffix(".graph"))
    raise UnsupportedError(f"{out_path}: unknown output format '{out_path.suffix}'; use .graph or .tflite")


def analyze_ops(path: str | Path) -> list[tuple[str, int, bool]]:
    """Every TFLite op the model uses, in order of first use, with its count and whether we import it."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    if not is_tflite(path):
        counts: dict[str, int] = {}
        for op in load_graph(path).ops:
            counts[op.kind] = counts.get(op.kind, 0) + 1
        return [(k, n, True) for k, n in counts.items()]
    counts = {}
    for op in read_model(path).operators:
        counts[op.op] = counts.get(op.op, 0) + 1
    return [(k, n, k in SUPPORTED_OPS) for k, n in counts.items()]
