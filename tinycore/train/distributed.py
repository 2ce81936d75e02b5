"""DDP under torchrun: detect it from the environment, start and stop the process group, shard the data.

torchrun sets WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. With WORLD_SIZE > 1 fit() joins the
group (gloo on CPU, nccl on GPU), wraps the model in DistributedDataParallel and gives each rank a
DistributedSampler shard; only rank 0 writes files and shows progress.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


GROUP_TIMEOUT = timedelta(hours=12)


def is_main_process() -> bool:
    """True outside torchrun and on its rank 0: the one process that writes run files and prints results."""
    return int(os.environ.get("RANK", "0")) == 0


@dataclass(frozen=True)
class DistContext:
    world_size: int
    rank: int
    device: torch.device
    owns_group: bool  # True when fit() started the group and so must end it

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def start(device: str | torch.device | None = None) -> DistContext:
    """Join the torchrun process group when WORLD_SIZE > 1, else a single-process context."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available() and (device is None or torch.device(device).type == "cuda")
    if world <= 1:
        dev = torch.device(device) if device is not None else torch.device("cuda" if cuda else "cpu")
        return DistContext(1, 0, dev, owns_group=False)
    owns = not dist.is_initialized()
    if owns:  # a long timeout: the other ranks wait while rank 0 alone runs a search's evolution (can take hours)
        dist.init_process_group(backend="nccl" if cuda else "gloo", timeout=GROUP_TIMEOUT)
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    return DistContext(dist.get_world_size(), dist.get_rank(), dev, owns)


def stop(ctx: DistContext) -> None:
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def sync_buffers(model: torch.nn.Module, ctx: DistContext) -> None:
    """Copy rank 0's buffers (BN running stats) to every rank.

    DDP broadcasts buffers at the start of each forward, so after an epoch's last step each rank still holds
    stats from its own shard; evaluating with those would let ranks disagree on the val metric.
    """
    if ctx.enabled:
        for b in model.buffers():
            dist.broadcast(b, src=0)


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()
