"""A run remembers how it was made: the data source, --quick and --seed that trained it.

`train`, `search` and `demo` write report.json "data_source" {data_dir, cache_dir, quick, seed} before training;
`export`, `eval` and `firmware` of that run read it back for every flag the command line leaves out, so a run
trained with --quick is not rebuilt on the full set, and one trained on --data-dir is calibrated and checked on
that folder. A flag given on the command line always wins (--no-quick turns a quick run's setting off).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from tinycore.report import RunDir

REPORT_KEY = "data_source"
_DEFAULTS = {"data_dir": None, "cache_dir": None, "quick": False, "seed": 0}


@dataclass(frozen=True)
class DataSource:
    data_dir: str | None  # absolute path of a public data set, None for the built-in set
    cache_dir: str | None  # absolute path of the built-in set's cache, None for the default folder
    quick: bool
    seed: int


def _absolute(path: str | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def source_of(args: argparse.Namespace) -> DataSource:
    """The source the parsed flags name (after `apply_defaults`)."""
    return DataSource(_absolute(args.data_dir), _absolute(args.cache_dir), bool(args.quick), int(args.seed))


def remember(run: RunDir, args: argparse.Namespace) -> None:
    """Record the source in run/report.json (called by the commands that make a run)."""
    run.update_report(**{REPORT_KEY: asdict(source_of(args))})


def recall(run: RunDir, args: argparse.Namespace) -> dict[str, object]:
    """Fill every flag the command line left out (None) from the run's recorded source; returns what was taken.

    A run made before runs remembered their source (no "data_source" in its report) takes nothing.
    """
    stored = run.load_report().get(REPORT_KEY) or {}
    taken = {}
    for name in _DEFAULTS:
        if getattr(args, name, None) is None and stored.get(name) is not None:
            setattr(args, name, stored[name])
            taken[name] = stored[name]
    return taken


def apply_defaults(args: argparse.Namespace) -> None:
    """The built-in defaults for flags still unset (no flag, nothing recalled)."""
    for name, value in _DEFAULTS.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)


def resolve(args: argparse.Namespace, run: RunDir | None) -> None:
    """Fill the data flags left out, from `run` (a command that reads a trained run) and then the defaults.

    Sets args.own_source: whether the data are the run's own (same folder, --quick and --seed as it was made
    with, or no --data-dir for a run that recorded nothing), so `eval` knows if its test figures are the run's
    headline `metrics` or an evaluation on other data.
    """
    given_dir = args.data_dir
    stored = {}
    if run is not None:
        stored = run.load_report().get(REPORT_KEY) or {}
        taken = recall(run, args)
        if taken and not args.quiet:
            flags = [(f"--{k}" if v else f"--no-{k}") if isinstance(v, bool) else f"--{k.replace('_', '-')} {v}"
                     for k, v in taken.items()]
            print(f"using the run's {' '.join(flags)} (report.json {REPORT_KEY}; flags override)", file=sys.stderr)
    apply_defaults(args)
    mine = source_of(args)
    args.own_source = (not stored and given_dir is None) or (
        bool(stored) and (mine.data_dir, mine.quick, mine.seed) == (stored.get("data_dir"), stored.get("quick"),
                                                                   stored.get("seed")))
