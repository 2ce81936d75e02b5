"""Progress messages: one line on stderr (results go to stdout), silent with --quiet."""
from __future__ import annotations

import sys


def log(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)
