"""What multi-process tests share: a free loopback port and the environment torchrun would set for one rank."""
import os
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def set_rank_env(rank: int, world: int, port: int) -> None:
    """WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR/PORT as torchrun sets them (loopback only)."""
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
