"""The app firmware output contract: lines before `done`; `error` lines and a missing `done` raise BuildError."""
import pytest

from tinycore.errors import BuildError
from tinycore.export.firmware_output import firmware_lines, hex_payload


def test_lines_before_done_are_stripped_and_kept():
    assert firmware_lines("  clip 0 \n\nfeat 00ff\ndone\nafter\n", "x") == ["clip 0", "feat 00ff"]
    assert hex_payload("feat 00ff") == ("feat", b"\x00\xff") and hex_payload("clip 0") is None


@pytest.mark.parametrize("text, message", [("clip 0\nerror model_invoke returned 3\ndone\n", "x: error model_invoke"),
                                           ("clip 0\nfeat 00\n", "x: the firmware did not finish")])
def test_errors_and_unfinished_runs_raise(text, message):
    with pytest.raises(BuildError, match=message):
        firmware_lines(text, "x")
