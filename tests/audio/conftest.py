"""Host builds of the C front end, one shared library per FrontendConfig, called through ctypes."""
import ctypes
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinycore.audio.cgen import write_frontend_c
from tinycore.audio.config import FrontendConfig

HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wdouble-promotion", "-pedantic", "-O2"]


class HostFrontend:
    """The C front end of one config, compiled with cc (flags above) and loaded with ctypes."""

    def __init__(self, config: FrontendConfig, build_dir: Path) -> None:
        self.config = config
        sources = write_frontend_c(config, build_dir)
        self.so = build_dir / "libtc_frontend.so"
        res = subprocess.run(["cc", *HOST_FLAGS, "-shared", "-fPIC", "-o", str(self.so), *map(str, sources), "-lm"],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        self.lib = ctypes.CDLL(str(self.so))
        self.lib.tc_frontend_quantize_s8.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_float,
                                                     ctypes.c_int32, ctypes.c_void_p]

    def clip(self, x: np.ndarray) -> np.ndarray:
        """(N, L) -> (N, T, F) float32."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros((len(x), *self.config.feature_shape), dtype=np.float32)
        for i in range(len(x)):
            self.lib.tc_frontend_clip(x[i].ctypes.data_as(ctypes.c_void_p), out[i].ctypes.data_as(ctypes.c_void_p))
        return out

    def quantize(self, x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros(x.shape, dtype=np.int8)
        self.lib.tc_frontend_quantize_s8(x.ctypes.data_as(ctypes.c_void_p), x.size, scale, zero_point,
                                         out.ctypes.data_as(ctypes.c_void_p))
        return out


@pytest.fixture(scope="session")
def host_frontend(tmp_path_factory):
    built: dict[FrontendConfig, HostFrontend] = {}

    def get(config: FrontendConfig) -> HostFrontend:
        if config not in built:
            built[config] = HostFrontend(config, tmp_path_factory.mktemp("tc_frontend"))
        return built[config]
    return get
