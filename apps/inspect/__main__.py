"""`python -m apps.inspect data|train|search|export|eval|firmware|demo` through the shared CLI (tinycore.cli)."""
from __future__ import annotations

import sys

from apps.inspect.task import TASK
from tinycore.cli.app import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(TASK, argv)


if __name__ == "__main__":
    sys.exit(main())
