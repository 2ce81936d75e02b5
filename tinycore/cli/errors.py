"""How every command line ends: a user error prints one line and exits 2 (traceback only with --debug); a failed
check (CheckError) exits 1, its reason the last line on stderr."""
from __future__ import annotations

import sys
import traceback
from typing import Callable

from tinycore.errors import TinycoreError


def run_command(call: Callable[[], int], debug: bool, interrupted_hint: str = "") -> int:
    try:
        return call()
    except TinycoreError as e:
        if debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return getattr(e, "exit_code", 2)
    except KeyboardInterrupt:
        print(f"interrupted{': ' + interrupted_hint if interrupted_hint else ''}", file=sys.stderr)
        return 130
