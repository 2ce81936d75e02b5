"""Walk the op registry: every kind has a runtime function, a C kernel, a C emitter, a case table, a memory rule."""
import pytest

from tests.cases import CASE_TABLES
from tinycore.export.codegen import kernel_file
from tinycore.export.emit import EMITTERS
from tinycore.ir import SCHEMAS
from tinycore.memory.rules import RULE_KINDS
from tinycore.runtime import OP_FUNCTIONS


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_every_kind_is_implemented_everywhere(kind):
    assert kind in OP_FUNCTIONS, f"{kind}: no numpy runtime function"
    path = kernel_file(kind)
    assert path is not None and path.name == f"tc_{kind}.c", f"{kind}: no kernels/portable/tc_{kind}.c"
    assert f" tc_{kind}(" in (path.parent.parent / "include" / "tc_kernels.h").read_text(), f"{kind}: not declared"
    assert kind in EMITTERS, f"{kind}: no C emitter"
    assert len(CASE_TABLES.get(kind, [])) >= 3, f"{kind}: no case table in tests/cases"
    assert kind in RULE_KINDS, f"{kind}: no memory rule"


def test_case_names_are_unique_per_kind():
    for kind, table in CASE_TABLES.items():
        names = [c.name for c in table]
        assert len(names) == len(set(names)), kind


def test_flash_counts_the_tables_the_exporter_derives(tmp_path):
    """logistic / hard swish lookups and resize indices are emitted as C arrays: Flash must count them."""
    import re

    from tests.cases import CASE_TABLES
    from tinycore.export import generate_c
    from tinycore.memory import flash_bytes

    for kind in ("logistic_s8", "hard_swish_s8", "resize_nearest_s8"):
        g = CASE_TABLES[kind][0].make(seed=0)
        text = (generate_c(g, tmp_path / kind).out_dir / "model.c").read_text()
        sizes = [int(n) * (4 if t == "int32_t" else 1)
                 for t, n in re.findall(r"static const (int8_t|int32_t) \w+\[(\d+)\]", text)]
        assert sum(sizes) == flash_bytes(g) > 0, kind
