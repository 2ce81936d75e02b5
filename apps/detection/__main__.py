import sys

from tinycore.cli.kernels import pin_cpu_kernels

pin_cpu_kernels()  # first, before numpy and torch load: the same float kernels on every x86 machine
from apps.detection.task import TASK  # noqa: E402
from tinycore.cli.app import main  # noqa: E402

sys.exit(main(TASK))
