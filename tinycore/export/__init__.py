"""C export: C99 code generation of the integer graph, the C kernel library, host builds and validation.

Boards, firmware builds and emulator runs live in `boards/`, `firmware.py` and `qemu.py`.
"""
from tinycore.export.codegen import GeneratedModel, generate_c, kernel_file
from tinycore.export.harness import ProgramOutput, parse_output
from tinycore.export.host import build_host, run_program
from tinycore.export.validate import validate

__all__ = ["GeneratedModel", "generate_c", "kernel_file", "build_host", "run_program", "parse_output",
           "ProgramOutput", "validate"]
