import sys

from apps.kws.task import TASK
from tinycore.cli.app import main

sys.exit(main(TASK))
