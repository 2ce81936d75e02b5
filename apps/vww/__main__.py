"""`python -m apps.vww data|train|search|export|eval|firmware|demo` through the shared CLI (tinycore.cli)."""
from __future__ import annotations

import sys

from tinycore.cli.kernels import pin_cpu_kernels

pin_cpu_kernels()  # first, before numpy and torch load: AVX2 vector code on any x86 CPU that has more
from apps.vww.task import TASK  # noqa: E402
from tinycore.cli.app import main as cli_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    return cli_main(TASK, argv)


if __name__ == "__main__":
    sys.exit(main())
