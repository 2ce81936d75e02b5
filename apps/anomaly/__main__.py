import sys

from tinycore.cli.kernels import pin_cpu_kernels

pin_cpu_kernels()  # first, before numpy and torch load: AVX2 vector code on any x86 CPU that has more
from apps.anomaly.task import TASK  # noqa: E402
from tinycore.cli.app import main  # noqa: E402

sys.exit(main(TASK))
