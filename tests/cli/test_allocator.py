"""keep_freed_memory sets glibc's malloc (every mallopt call must be accepted) and leaves other C libraries alone."""
import platform

import pytest

from tinycore.cli import allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_every_setting_is_accepted_by_glibc():
    assert allocator.keep_freed_memory()
    assert allocator.keep_freed_memory()  # idempotent: commands may call it again


def test_no_glibc_changes_nothing(monkeypatch):
    monkeypatch.setattr(allocator.ctypes.util, "find_library", lambda _name: "libc-that-is-not-here.so.9")
    assert allocator.keep_freed_memory() is False
