"""Reading what an app's firmware printed: its own lines, a final `done`, `error ...` on failure.

Every app's main.c follows this contract (tinycore.export.app_firmware): it prints its results line by line,
`error <what>` when a call fails, and `done` when it finished. An app parses only its own lines; the contract and
the hex payloads (`feat 00ff..`, `out 7f..`) are read here.
"""
from __future__ import annotations

from tinycore.errors import BuildError

PAYLOADS = ("feat ", "out ")


def firmware_lines(text: str, where: str) -> list[str]:
    """The stripped, non-empty lines before `done`. BuildError (naming `where`) on an `error` line, or when the
    firmware never printed `done` (a crash or a cut-off run), with the end of its output."""
    lines: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line == "done":
            return lines
        if line.startswith("error"):
            raise BuildError(f"{where}: {line}")
        if line:
            lines.append(line)
    raise BuildError(f"{where}: the firmware did not finish (no `done` line); output ends: {text[-500:]}")


def hex_payload(line: str) -> tuple[str, bytes] | None:
    """("feat" | "out", bytes) for a hex payload line, else None."""
    if not line.startswith(PAYLOADS):
        return None
    key, hexs = line.split(" ", 1)
    return key, bytes.fromhex(hexs)
