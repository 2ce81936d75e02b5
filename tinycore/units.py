"""Parse and print byte sizes. "64KB" means 64 * 1024 bytes everywhere in this project."""
import re

from tinycore.errors import TinycoreError

_UNITS = {"": 1, "B": 1, "KB": 1024, "KIB": 1024, "K": 1024, "MB": 1024**2, "MIB": 1024**2, "M": 1024**2}


def parse_bytes(text: str | int) -> int:
    """"64KB" -> 65536; "1MB" -> 1048576; "300" -> 300; an int is returned unchanged."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).upper() not in _UNITS:
        raise TinycoreError(f"cannot read size {text!r}: use a number with B, KB or MB (1 KB = 1024 B), e.g. 64KB")
    return int(round(float(m.group(1)) * _UNITS[m.group(2).upper()]))


def format_bytes(n: int) -> str:
    """Human text for a byte count, exact below 10 KB."""
    if n < 10 * 1024:
        return f"{n:,} B"
    if n < 10 * 1024**2:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024**2:.2f} MB"


_COUNT_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}


def parse_count(text: str | int) -> int:
    """"10M" -> 10_000_000; "2.5M", "800k", "123456" (decimal units, for MACs); an int is returned unchanged."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]?)\s*", str(text))
    if not m or m.group(2).upper() not in _COUNT_UNITS:
        raise TinycoreError(f"cannot read count {text!r}: use a number with an optional k, M or G (10**3, 10**6, "
                            f"10**9), e.g. 10M")
    return int(round(float(m.group(1)) * _COUNT_UNITS[m.group(2).upper()]))
