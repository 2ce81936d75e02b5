"""Put a C twin (hand-written files from a package's c/ folder) and its generated files into one folder."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence


def write_c_sources(src_dir: Path, names: Sequence[str], generated: Mapping[str, str], out_dir: str | Path) -> Path:
    """Copy src_dir/<name> for each name and write each generated {file name: text} into out_dir; return out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        (out / name).write_text((Path(src_dir) / name).read_text())
    for name, text in generated.items():
        (out / name).write_text(text)
    return out
