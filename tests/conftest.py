import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

# The steering repo's shared/ folder sits beside the project checkout (also in CI's fresh clone).
SHARED = next((p for p in (ROOT.parent / "shared", Path("/work/shared")) if (p / "fixtures").is_dir()),
              ROOT.parent / "shared")

# Tests train models in process as the commands do: the same allocator setting (tinycore/cli/allocator.py).
from tinycore.cli.allocator import keep_freed_memory  # noqa: E402

keep_freed_memory()
