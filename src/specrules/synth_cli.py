"""`specrules synth`: the command line of specrules.synth.

Kept apart from the generator so that starting the command line does not import numpy and
pandas for every command (`specrules validate` must start quickly).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from typing import Any

# the generator's defaults, repeated here so that --help needs no numpy; a test keeps them equal
DEFAULT_ROWS = 1000
DEFAULT_BREACH_RATE = 0.1


def _cmd_synth(args: argparse.Namespace) -> int:
    from specrules.api import load
    from specrules.errors import SpecError
    from specrules.synth import SynthError, SynthWarning, synthesize, write

    if args.rows < 1:
        print(f"error: --rows must be at least 1, not {args.rows}", file=sys.stderr)
        return 2
    if args.seed < 0:  # numpy's generators take whole numbers from 0
        print(f"error: --seed must be 0 or more, not {args.seed}", file=sys.stderr)
        return 2
    if not 0.0 <= args.breach_rate <= 1.0:
        print(
            f"error: --breach-rate must be between 0 and 1, not {args.breach_rate}", file=sys.stderr
        )
        return 2
    try:
        spec = load(args.spec)
    except SpecError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        return exc.exit_code
    began = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as told:
            warnings.simplefilter("always", SynthWarning)
            frames = synthesize(spec, args.rows, args.seed, args.breach_rate)
        paths = write(spec, frames, args.out, args.format)
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for warning in told:  # a rule the data could not be shaped for: a line, not a traceback
        if issubclass(warning.category, SynthWarning):
            print(f"warning: {str(warning.message).removeprefix('synth: ')}", file=sys.stderr)
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    seconds = time.perf_counter() - began
    for path in paths:
        print(f"{path}: {len(frames[path.name.split('.')[0]]):,} rows")
    total = sum(len(f) for f in frames.values())
    print(f"{total:,} rows in {len(paths)} file(s), {seconds:.2f}s (seed {args.seed})")
    return 0


def register(commands: Any) -> None:
    """Add `specrules synth` to the command line."""
    parser = commands.add_parser(
        "synth",
        help="write synthetic activity data for a spec",
        description="Write realistic synthetic data for every dataset a spec declares, "
        "derived only from the spec: one file per dataset in --out.",
    )
    parser.add_argument("spec", metavar="SPEC")
    parser.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help="rows of the main dataset (default 1000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    parser.add_argument(
        "--breach-rate",
        type=float,
        default=DEFAULT_BREACH_RATE,
        help="share of rows made to fail each rule, 0 to 1 (default 0.1)",
    )
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.set_defaults(run=_cmd_synth)
