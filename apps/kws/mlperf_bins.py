"""MLPerf Tiny's KWS evaluation folder (kws01 of the EEMBC runner): int8 features as .bin files + y_labels.csv.

Layout (mlcommons/tiny benchmark/evaluation/datasets/README.md): each `<name>.bin` holds one clip's 49 x 10 MFCC
as int8, time-major (the model's (1, 49, 10, 1) input bytes); `y_labels.csv` has one line per file,
`<name>.bin,<number of classes>,<class index>`, classes in MLPerf's label order (= the app's CLASSES). The
features are already quantized with the reference model's input scale and zero point, which the folder does not
record: the default is MLPerf's reference model (kws_ref_model.tflite: 0.5847029089927673, 83); `eval
--bin-scale S --bin-zero-point Z` names others. The features are handed on as float, (q - Z) * S, so that the
float model sees MLPerf's features and an int8 model whose input quantization turns them back into the same bytes
(`check_input_quantization`) sees exactly the files' bytes; any other model is refused.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tinycore.audio.wav import DataError
from tinycore.runtime.fixedpoint import quantize_float_s8

LABELS_FILE = "y_labels.csv"
REFERENCE_SCALE = 0.5847029089927673  # input of MLPerf Tiny's kws_ref_model.tflite
REFERENCE_ZERO_POINT = 83


def is_bin_folder(root: Path) -> bool:
    """A folder of .bin features or with a y_labels.csv (then read as such, so a missing file is named)."""
    return root.is_dir() and ((root / LABELS_FILE).exists() or any(root.glob("*.bin")))


def _label_rows(root: Path, n_classes: int) -> list[tuple[str, int]]:
    path = root / LABELS_FILE
    if not path.is_file():
        raise DataError(f"{path}: not found; an MLPerf KWS evaluation folder has y_labels.csv beside its .bin "
                        f"files (lines `<file>.bin,<number of classes>,<class index>`)")
    rows = []
    for k, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3 or not parts[1].isdigit() or not parts[2].lstrip("-").isdigit():
            raise DataError(f"{path}:{k}: expected `<file>.bin,<number of classes>,<class index>`, got {line!r}")
        if int(parts[1]) != n_classes:
            raise DataError(f"{path}:{k}: {parts[1]} classes, the KWS app has {n_classes}")
        label = int(parts[2])
        if not 0 <= label < n_classes:
            raise DataError(f"{path}:{k}: class index {label} is outside 0..{n_classes - 1}")
        rows.append((parts[0], label))
    if not rows:
        raise DataError(f"{path}: no lines")
    return rows


def read_bin_folder(root: Path, feature_shape: tuple[int, int], n_classes: int,
                    ) -> tuple[NDArray[np.int8], NDArray[np.int64]]:
    """(int8 features (N, frames, coeffs), class indices (N,)) in y_labels.csv order; every error names the file."""
    n_bytes = feature_shape[0] * feature_shape[1]
    feats, labels = [], []
    for name, label in _label_rows(root, n_classes):
        path = root / name
        if not path.is_file():
            raise DataError(f"{path}: listed in {LABELS_FILE} but not found")
        raw = path.read_bytes()
        if len(raw) != n_bytes:
            raise DataError(f"{path}: {len(raw)} bytes, expected {n_bytes} ({feature_shape[0]} x "
                            f"{feature_shape[1]} int8 features)")
        feats.append(np.frombuffer(raw, np.int8).reshape(feature_shape))
        labels.append(label)
    return np.stack(feats), np.array(labels, np.int64)


def dequantize_features(q: NDArray[np.int8], scale: float, zero_point: int) -> NDArray[np.float32]:
    """(q - zero_point) * scale in float32; quantize_float_s8 with the same parameters gives q back (checked)."""
    x = ((q.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)
    values = np.arange(-128, 128, dtype=np.int8)
    back = quantize_float_s8((values.astype(np.float32) - np.float32(zero_point)) * np.float32(scale), scale,
                             zero_point)
    if not np.array_equal(back, values):
        raise DataError(f"--bin-scale {scale} / --bin-zero-point {zero_point}: int8 -> float -> int8 does not give "
                        f"the same bytes back")
    return x


def load_bin_data(root: Path, splits: tuple[str, ...], frontend: str | None,
                  quantization: tuple[float, int] | None):
    """TaskData of an MLPerf KWS evaluation folder: every file is test (evaluation only), float features
    (N, 1, frames, coeffs) made from the int8 ones with `quantization` (None: MLPerf's reference)."""
    from apps.kws.frontend import MLPERF_FRONTEND
    from apps.kws.speech_commands import CLASSES
    from tinycore.task import TaskData

    if frontend not in (None, "mlperf"):
        raise DataError(f"{root}: an MLPerf .bin folder holds MLPerf front-end features; a model made with "
                        f"--frontend {frontend} cannot be scored on them (use a --frontend mlperf run or the wav "
                        f"folder)")
    others = [s for s in splits if s != "test"]
    if others:
        raise DataError(f"{root}: an MLPerf .bin folder is evaluation only: its files are test clips, no "
                        f"{'/'.join(others)} clips")
    scale, zero_point = quantization or (REFERENCE_SCALE, REFERENCE_ZERO_POINT)
    fe = MLPERF_FRONTEND
    q, y = read_bin_folder(root, fe.feature_shape, len(CLASSES))
    x = dequantize_features(q, scale, zero_point)[:, None]
    source = "given (--bin-scale/--bin-zero-point)" if quantization else "MLPerf reference model's (default)"
    quant = {"scale": float(scale), "zero_point": int(zero_point), "source": str(root.resolve()),
             "assumed": source, "option": "--bin-scale/--bin-zero-point"}
    empty = (np.zeros((0, 1, *fe.feature_shape), np.float32), np.zeros(0, np.int64))
    dataset = {"name": f"mlperf_bins_{root.resolve().name}", "source": str(root.resolve()), "n_train": 0, "n_val": 0,
               "n_test": len(y), "split": "MLPerf .bin evaluation folder: every file is test (evaluation only)",
               "noise": None, "frontend": fe.to_dict(), "frontend_name": "mlperf", "input_quantization": quant}
    return TaskData(empty, empty, (x, y), (1, *fe.feature_shape), CLASSES, dataset,
                    {"input_quantization": quant, "real_data": True})
