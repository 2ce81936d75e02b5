import sys

import torch

from apps.anomaly.task import TASK
from tinycore.cli.app import main

# The dense autoencoder's small matmuls run faster on one thread than on two that share busy cores (measured on
# the 2-core CI machine: 1.2 s vs 15.6 s per training epoch); the numpy runtime is single-threaded anyway.
torch.set_num_threads(1)
sys.exit(main(TASK))
