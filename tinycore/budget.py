"""Memory (and optional compute) budgets shared by search, export checks and reports.

Sizes are bytes; "64KB" strings are parsed by `tinycore.units.parse_bytes` (1 KB = 1024 B) in `Budget.parse`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tinycore.errors import BudgetError
from tinycore.units import parse_bytes


@dataclass(frozen=True)
class Budget:
    sram_bytes: int           # arena limit; the firmware's arena must fit in it
    flash_bytes: int          # model constants (weights, biases, multipliers, shifts)
    macs: int | None = None   # optional limit on multiply-accumulates per inference

    def __post_init__(self) -> None:
        for name in ("sram_bytes", "flash_bytes"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise BudgetError(f"budget: {name} must be a positive int, got {v!r}")
        if self.macs is not None and (not isinstance(self.macs, int) or self.macs <= 0):
            raise BudgetError(f"budget: macs must be a positive int or None, got {self.macs!r}")

    @staticmethod
    def parse(sram: str | int, flash: str | int, macs: int | None = None) -> "Budget":
        """Budget from CLI text such as ("64KB", "256KB")."""
        return Budget(parse_bytes(sram), parse_bytes(flash), macs)

    def fits(self, sram_bytes: int, flash_bytes: int, macs: int = 0) -> bool:
        return (sram_bytes <= self.sram_bytes and flash_bytes <= self.flash_bytes
                and (self.macs is None or macs <= self.macs))

    def overruns(self, sram_bytes: int, flash_bytes: int, macs: int = 0) -> list[str]:
        """Human text for every limit exceeded (empty when it fits)."""
        out = []
        if sram_bytes > self.sram_bytes:
            out.append(f"arena {sram_bytes:,} B > SRAM budget {self.sram_bytes:,} B")
        if flash_bytes > self.flash_bytes:
            out.append(f"Flash {flash_bytes:,} B > Flash budget {self.flash_bytes:,} B")
        if self.macs is not None and macs > self.macs:
            out.append(f"{macs:,} MACs > MACs limit {self.macs:,}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
