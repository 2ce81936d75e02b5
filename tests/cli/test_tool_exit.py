"""`python -m tinycore validate`: a mismatch prints the verdict, then exits 1 with the reason as the last line."""
import importlib

import tinycore.cli.tool as tool

validate_module = importlib.import_module("tinycore.export.validate")  # the package exports a function by that name


def test_validate_mismatch_exits_1_with_the_reason_last(monkeypatch, capsys):
    result = {"outputs_match": False, "n_checked": 20, "max_abs_diff": 3, "arena_bytes": 100, "flash_bytes": 200}
    monkeypatch.setattr(tool, "_open", lambda path: object())
    monkeypatch.setattr(validate_module, "validate", lambda graph, **kw: dict(result))
    assert tool.main(["validate", "m.graph", "--target", "host"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("MISMATCH: 20 inputs on host")
    assert err.strip().splitlines()[-1] == ("error: m.graph: outputs on host differ from the numpy runtime "
                                            "(max |diff| 3 over 20 inputs)")
    monkeypatch.setattr(validate_module, "validate", lambda graph, **kw: {**result, "outputs_match": True})
    assert tool.main(["validate", "m.graph"]) == 0
