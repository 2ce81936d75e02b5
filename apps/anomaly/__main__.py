import sys

from apps.anomaly.task import TASK
from tinycore.cli.app import main

sys.exit(main(TASK))
