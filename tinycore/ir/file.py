"""One versioned file per graph: a zip holding `graph.json` (structure, quantization) and one `.npy` per constant.

Saving is atomic (temporary file, then rename) so a crash never leaves half a graph behind.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from tinycore.errors import GraphFileError
from tinycore.ir.graph import GRAPH_FORMAT_VERSION, Graph, Op, Tensor
from tinycore.ir.validate import validate_graph

FORMAT_NAME = "tinycore-graph"


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def save_graph(graph: Graph, path: str | Path) -> Path:
    validate_graph(graph)
    path = Path(path)
    doc = {
        "format": FORMAT_NAME,
        "version": GRAPH_FORMAT_VERSION,
        "inputs": graph.inputs,
        "outputs": graph.outputs,
        "meta": _jsonable(graph.meta),
        "tensors": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "scale": [float(s) for s in t.scale],
                     "zero_point": int(t.zero_point), "constant": t.is_constant} for t in graph.tensors.values()],
        "ops": [{"kind": o.kind, "name": o.name, "inputs": o.inputs, "outputs": o.outputs,
                 "attrs": _jsonable(o.attrs)} for o in graph.ops],
    }
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("graph.json", json.dumps(doc, indent=1))
        for i, t in enumerate(graph.tensors.values()):
            if t.is_constant:
                buf = io.BytesIO()
                np.save(buf, np.ascontiguousarray(t.data), allow_pickle=False)
                z.writestr(f"arrays/{i}.npy", buf.getvalue())
    os.replace(tmp, path)
    return path


def load_graph(path: str | Path) -> Graph:
    """Read and validate a graph file; every failure is a GraphFileError or GraphValidationError naming the place."""
    path = Path(path)
    if not path.is_file():
        raise GraphFileError(f"{path}: no such graph file")
    try:
        with zipfile.ZipFile(path) as z:
            try:
                doc = json.loads(z.read("graph.json"))
            except KeyError:
                raise GraphFileError(f"{path}: not a tinycore graph (no graph.json inside)") from None
            if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
                raise GraphFileError(f"{path}: not a tinycore graph (format field is {doc.get('format')!r})"
                                     if isinstance(doc, dict) else f"{path}: graph.json is not an object")
            version = doc.get("version")
            if version != GRAPH_FORMAT_VERSION:
                raise GraphFileError(f"{path}: graph format version {version!r}; this tinycore reads version "
                                     f"{GRAPH_FORMAT_VERSION}. Re-export the model with this version.")
            names = set(z.namelist())
            tensors = {}
            for i, td in enumerate(doc["tensors"]):
                data = None
                if td["constant"]:
                    member = f"arrays/{i}.npy"
                    if member not in names:
                        raise GraphFileError(f"{path}: tensor '{td['name']}': array {member} is missing")
                    try:
                        data = np.load(io.BytesIO(z.read(member)), allow_pickle=False)
                    except (ValueError, OSError, EOFError) as e:
                        raise GraphFileError(f"{path}: tensor '{td['name']}': array {member} is damaged ({e})") from None
                tensors[td["name"]] = Tensor(td["name"], tuple(int(d) for d in td["shape"]), str(td["dtype"]),
                                             tuple(float(s) for s in td["scale"]), int(td["zero_point"]), data)
            ops = [Op(od["kind"], od["name"], list(od["inputs"]), list(od["outputs"]), dict(od["attrs"]))
                   for od in doc["ops"]]
            graph = Graph(tensors, ops, list(doc["inputs"]), list(doc["outputs"]), dict(doc.get("meta", {})))
    except GraphFileError:
        raise
    except zipfile.BadZipFile as e:
        raise GraphFileError(f"{path}: not a readable graph file ({e}); is it truncated or of another format?") from None
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise GraphFileError(f"{path}: graph.json is damaged: bad or missing field {e}") from None
    except (zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as e:
        raise GraphFileError(f"{path}: cannot read graph file ({type(e).__name__}: {e})") from None
    except Exception as e:  # zlib.error and other decoder failures inside zipfile
        if type(e).__module__ in ("zlib", "zipfile", "struct", "json") or type(e).__name__ == "error":
            raise GraphFileError(f"{path}: damaged graph file ({type(e).__name__}: {e})") from None
        raise
    validate_graph(graph, source=str(path))
    return graph
