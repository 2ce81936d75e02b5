"""The run folder and its report.json: every pipeline step reads the report, fills its section and writes it back.

Fields (see shared/design.md): app, dataset{...}, model{family, spec, params, macs}, budget{sram_bytes,
flash_bytes}, memory{sram_peak_bytes, flash_bytes, per_layer[...]}, metrics{float{...}, int8{...}},
firmware{board, elf, text_bytes, data_bytes, bss_bytes, outputs_match_runtime, n_checked,
instructions_per_inference} (a build-only board: emulated false, bin, hex, flash_command, n_checked 0),
data_source{data_dir, cache_dir, quick, seed} (how the run was made: tinycore.cli.run_source),
evaluations{"<data set>:<split>": {split, float, int8, own_data, dataset}} (every `eval`, one key per data set).
search{...} (the `search` command; with --boards: search.boards{boards, common_budget, stage1, supernet,
finetune_epochs, fine_tuned, config, rows[board, cpu, emulated, sram_limit_bytes, flash_limit_bytes, arch, arena_bytes,
flash_bytes, macs, int8_<metric>, instructions_per_inference, ...], table, seconds}: tinycore.cli.boards).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinycore.errors import TinycoreError


REPORT_NAME = "report.json"
MEMBER_REPORT_NAME = "member_report.json"


@dataclass(frozen=True)
class RunDir:
    """A run folder. A member run (one model of a run that holds several: one per machine, one per board) names its
    report member_report.json, so that RUN/report.json is the only report.json under RUN and tools that look for it
    (`find RUN -name report.json`) cannot pick a member's figures for the run's."""
    path: Path
    member: bool = False

    def member_run(self, name: str) -> RunDir:
        """The member run folder `name` (may contain "/") inside this run."""
        return RunDir(self.path / name, member=True)

    @property
    def report_path(self) -> Path:
        if self.member or (self.path / MEMBER_REPORT_NAME).exists():
            return self.path / MEMBER_REPORT_NAME
        return self.path / REPORT_NAME

    @property
    def spec_path(self) -> Path:
        return self.path / "spec.json"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def graph_path(self) -> Path:
        return self.path / "model.graph"

    def need(self, path: Path, step: str) -> Path:
        if not path.exists():
            raise TinycoreError(f"{path} is missing: run `{step}` for this run folder first (--run {self.path})")
        return path

    def load_report(self) -> dict[str, Any]:
        if not self.report_path.exists():
            return {}
        try:
            return json.loads(self.report_path.read_text())
        except json.JSONDecodeError as e:
            raise TinycoreError(f"{self.report_path}: not valid JSON ({e}); delete it or choose another --out") from None

    def update_report(self, **sections: Any) -> dict[str, Any]:
        """Merge sections into report.json (atomic write) and return the whole report."""
        report = self.load_report()
        report.update(sections)
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.report_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(report, indent=1, default=_jsonable))
        os.replace(tmp, self.report_path)
        return report


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
