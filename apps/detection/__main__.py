import sys

from apps.detection.task import TASK
from tinycore.cli.app import main

sys.exit(main(TASK))
