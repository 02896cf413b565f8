"""Benchmark: specrules against hand-written pandas and DuckDB SQL on Wigan Lot 1 data.

    python benchmarks/bench_wigan.py                          # smoke size (2,000 referrals)
    python benchmarks/bench_wigan.py --sizes 100000,1000000,10000000

For each size it generates the data once (benchmarks/wigan_data.py), writes it as Parquet,
then times, each in a fresh subprocess on the same data:

- `specrules-pandas`: `spec.evaluate(frames)` on the pandas engine;
- `pandas-by-hand`: the same KPIs in idiomatic vectorized pandas (benchmarks/handwritten.py);
- `duckdb-by-hand`: the same KPIs in DuckDB SQL over the Parquet files;
- `polars-by-hand`: the same KPIs in Polars over the Parquet files (when Polars is installed);
- `specrules-duckdb`: specrules on its SQL engine, reading the Parquet files itself;
- `specrules-spark` (only when asked for: it needs PySpark and Java): the Spark engine in
  local mode on the same files, timed after its session has started. The JVM's memory and
  CPU are not the measuring process's, so only its seconds are comparable.

Each specrules figure is also shown as a ratio to its hand-written yardstick. Memory is the
process's peak resident set during the run (Linux VmHWM, reset after the inputs are loaded),
reported as a multiple of the in-memory size of the input frames. CPU seconds (every thread
of the measuring process) are printed beside wall seconds: on a shared machine they move
less. The fixed cost of one evaluation is measured on its own at a small size (`--fixed-size`,
1,000 referrals): the first evaluation in a fresh process, then the best of two more. Finally
it times `specrules validate specs/*.yaml` end to end, and prints the load average.
"""

from __future__ import annotations

import argparse
import gc
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The hand-written yardsticks implement the core Wigan Lot 1 spec, frozen as a test fixture;
# the full specs/wigan_lot1.yaml (which grows as it is written) is timed on its own.
CORE_SPEC = ROOT / "tests" / "fixtures" / "wigan_core" / "spec.yaml"
FULL_SPEC = ROOT / "specs" / "wigan_lot1.yaml"
sys.path.insert(0, str(HERE))

KINDS = (
    "pandas-by-hand",
    "specrules-pandas",
    "duckdb-by-hand",
    "specrules-duckdb",
    "polars-by-hand",
    "full-spec-pandas",
    "full-spec-duckdb",
    "specrules-spark",
)
DEFAULT_KINDS = tuple(k for k in KINDS if k != "specrules-spark")
YARDSTICK = {"specrules-pandas": "pandas-by-hand", "specrules-duckdb": "duckdb-by-hand"}


# ------------------------------------------------------------------ memory
def _status(field: str) -> int:
    """A /proc/self/status figure in bytes (0 where /proc is not there)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


# ------------------------------------------------------------------ one measurement
def _load_frames(folder: Path) -> dict:
    import pandas as pd

    return {
        p.stem: pd.read_parquet(p, dtype_backend="numpy_nullable")
        for p in sorted(folder.glob("*.parquet"))
    }


def sql_engine_available() -> bool:
    try:
        import duckdb  # noqa: F401

        import specrules.engine.sql.on_duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def polars_available() -> bool:
    try:
        import polars  # noqa: F401
    except ImportError:
        return False
    return True


def _evaluate(kind: str, spec, frames: dict | None, folder: Path) -> dict:
    """Run one kind once: its figures by rule and period."""
    from handwritten import duckdb_kpis, pandas_kpis, polars_kpis

    if kind == "pandas-by-hand":
        return _by_hand_figures(pandas_kpis(frames))
    if kind == "duckdb-by-hand":
        return _by_hand_figures(duckdb_kpis(folder))
    if kind == "polars-by-hand":
        return _by_hand_figures(polars_kpis(folder))
    if kind in ("specrules-pandas", "full-spec-pandas"):
        evaluation = spec.evaluate(frames)
    elif kind in ("specrules-duckdb", "full-spec-duckdb"):
        from specrules.engine.sql.on_duckdb import evaluate_spec_duckdb

        evaluation = evaluate_spec_duckdb(spec.plan, str(folder))
    elif kind == "specrules-spark":
        from specrules.engine.sql.on_spark import evaluate_spec_spark

        evaluation = evaluate_spec_spark(spec.plan, str(folder))
    else:
        raise SystemExit(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    return {f"{v.rule_id}@{v.period}": v.value for v in evaluation.verdicts}


def measure(kind: str, folder: Path, repeat: int = 1) -> dict:
    """Run one kind on the data in `folder`; seconds and memory of the first run, as a dict.

    With `repeat` > 1 it runs again in the same process and adds the best of the later runs
    (`warm_seconds`, `warm_cpu_seconds`): the cost once imports and caches are warm."""
    from wigan_data import frames_bytes

    import specrules

    spec = specrules.load(FULL_SPEC if kind.startswith("full-spec") else CORE_SPEC)
    before = _status("VmRSS")
    frames = _load_frames(folder)
    input_bytes = frames_bytes(frames)
    if "duckdb" in kind or "spark" in kind or "polars" in kind:
        frames = None  # these read the Parquet files themselves
    if kind == "specrules-spark":
        from specrules.engine.sql.on_spark import spark_session

        spark_session()  # started before the clock: minutes on a cold JVM, once per process
    gc.collect()
    loaded = _status("VmRSS")
    _reset_peak()
    timings = []
    for _ in range(max(1, repeat)):
        started, cpu_started = time.perf_counter(), time.process_time()
        figures = _evaluate(kind, spec, frames, folder)
        timings.append((time.perf_counter() - started, time.process_time() - cpu_started))
        if len(timings) == 1:
            peak = _status("VmHWM")
    result = {
        "kind": kind,
        "seconds": timings[0][0],
        "cpu_seconds": timings[0][1],
        "input_bytes": input_bytes,
        # memory the data needs: inputs held (pandas kinds) plus everything the run added
        "data_peak_bytes": max(0, peak - before),
        "extra_peak_bytes": max(0, peak - loaded),
        "figures": {k: None if v is None else round(float(v), 9) for k, v in figures.items()},
    }
    if len(timings) > 1:
        result["warm_seconds"], result["warm_cpu_seconds"] = min(timings[1:])
    return result


def _label(rule: str, index: int) -> str:
    """The specrules period label of a hand-written period index (years from July 2019)."""
    if rule == "case_studies":
        year, quarter = divmod(index, 4)
        return f"{2019 + year}/{(20 + year) % 100:02d}-Q{quarter + 1}"
    return f"{2019 + index}/{(20 + index) % 100:02d}"


def _by_hand_figures(result: dict) -> dict[str, float | None]:
    figures = {}
    for (rule, period), value in result.items():
        if period == "failing":
            continue
        figures[f"{rule}@{_label(rule, period)}"] = value[2] if isinstance(value, tuple) else value
    return figures


def disagreements(rows: list[dict]) -> list[str]:
    """Figures on which any two kinds disagree, at each size (an empty list: all agree)."""
    found = []
    for size in sorted({r["size"] for r in rows}):
        measured = [
            r
            for r in rows
            if r["size"] == size and "figures" in r and not r["kind"].startswith("full-spec")
        ]
        for row in measured[1:]:
            first = measured[0]
            for key in sorted(set(first["figures"]) | set(row["figures"])):
                a, b = first["figures"].get(key, "absent"), row["figures"].get(key, "absent")
                close = isinstance(a, float) and isinstance(b, float) and abs(a - b) < 1e-9
                if a != b and not close:
                    found.append(f"{size:,} {key}: {first['kind']} {a}, {row['kind']} {b}")
    return found


def run_measurement(kind: str, folder: Path, timeout: float, repeat: int = 1) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", kind, str(folder)]
    command += ["--repeat", str(repeat)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"kind": kind, "error": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"kind": kind, "error": last[:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ the table
def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f}" if n >= 1e6 else f"{n / 1e6:.1f}"


def table(rows: list[dict]) -> str:
    header = (
        f"{'referrals':>11}  {'what':<17} {'seconds':>9} {'cpu s':>8} {'× by hand':>10} "
        f"{'peak MB':>9} {'input MB':>9} {'peak/input':>10}"
    )
    lines = [header, "-" * len(header)]
    by_size: dict[int, dict[str, dict]] = {}
    for row in rows:
        by_size.setdefault(row["size"], {})[row["kind"]] = row
    for size, kinds in by_size.items():
        for kind, row in kinds.items():
            if "error" in row:
                lines.append(f"{size:>11,}  {kind:<17} {row['error']}")
                continue
            yard = kinds.get(YARDSTICK.get(kind, ""), {})
            ratio = f"{row['seconds'] / yard['seconds']:.2f}" if yard.get("seconds") else "—"
            peak = row["data_peak_bytes"]
            lines.append(
                f"{size:>11,}  {kind:<17} {row['seconds']:>9.2f} {row['cpu_seconds']:>8.2f} "
                f"{ratio:>10} "
                f"{_mb(peak):>9} {_mb(row['input_bytes']):>9} "
                f"{peak / row['input_bytes']:>10.2f}"
            )
    return "\n".join(lines)


def fixed_cost(rows: list[dict], size: int) -> str:
    """The fixed-cost section: each kind's first evaluation and its best warm one."""
    lines = [
        f"fixed cost per evaluation at {size:,} referrals (first: in a fresh process; "
        "warm: the best of two more)"
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"  {row['kind']:<17} {row['error']}")
            continue
        warm = ""
        if "warm_seconds" in row:
            warm = f"   warm {row['warm_seconds']:.3f} s ({row['warm_cpu_seconds']:.3f} s CPU)"
        lines.append(
            f"  {row['kind']:<17} first {row['seconds']:.3f} s ({row['cpu_seconds']:.3f} s CPU)"
            + warm
        )
    return "\n".join(lines)


def load_average() -> str:
    try:
        return "load average " + ", ".join(f"{n:.2f}" for n in os.getloadavg())
    except OSError:
        return "load average unknown"


def time_validate() -> tuple[float, float]:
    """Wall-clock and CPU seconds of `specrules validate specs/*.yaml`, end to end."""
    specs = sorted(glob.glob(str(ROOT / "specs" / "*.yaml")))
    command = [sys.executable, "-m", "specrules.cli", "validate", *specs]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _write_data(folder: Path, size: int, full: bool) -> None:
    from wigan_data import conform, generate

    import specrules

    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    frames = generate(size)
    if full:
        frames = conform(frames, specrules.load(FULL_SPEC).model)
    for name, frame in frames.items():
        # microsecond timestamps: Spark cannot read Parquet's nanosecond ones
        frame.to_parquet(folder / f"{name}.parquet", index=False, coerce_timestamps="us")
    shape = "full spec" if full else "core spec"
    print(
        f"generated {size:,} referrals ({shape}) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000", help="referrals per run, comma-separated")
    parser.add_argument(
        "--kinds",
        default=",".join(DEFAULT_KINDS),
        help=f"what to time (default all but specrules-spark), of: {', '.join(KINDS)}",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    parser.add_argument("--data-dir", default=None, help="keep generated data here")
    parser.add_argument(
        "--fixed-size",
        type=int,
        default=1000,
        help="referrals for the fixed cost per evaluation (default 1000; 0 to skip it)",
    )
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]), args.repeat)))
        return 0

    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes {args.sizes!r}: write whole numbers, e.g. 100000,1000000")
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kind(s) {unknown}; choose from {', '.join(KINDS)}")
    if not sql_engine_available():
        print("note: the SQL engine is not installed (pip install -e '.[sql]'); skipping it")
        kinds = [k for k in kinds if k not in ("specrules-duckdb", "full-spec-duckdb")]
    try:
        import duckdb  # noqa: F401
    except ImportError:
        kinds = [k for k in kinds if "duckdb" not in k]
    if "polars-by-hand" in kinds and not polars_available():
        print("note: Polars is not installed (pip install polars); skipping polars-by-hand")
        kinds.remove("polars-by-hand")
    print(load_average(), file=sys.stderr)
    base = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="bench-"))
    rows = []
    for size in sizes:
        folders = {"core": base / f"wigan_core_{size}", "full": base / f"wigan_full_{size}"}
        for shape, folder in folders.items():
            wanted = kinds if shape == "core" else [k for k in kinds if k.startswith("full")]
            if wanted and not (folder / "referrals.parquet").exists():
                _write_data(folder, size, full=shape == "full")
        for kind in kinds:
            folder = folders["full" if kind.startswith("full-spec") else "core"]
            result = run_measurement(kind, folder, args.timeout)
            result["size"] = size
            rows.append(result)
            print(
                f"  {size:,} {kind}: {result.get('seconds', result.get('error'))}", file=sys.stderr
            )
    fixed_rows = []
    fixed_kinds = [k for k in kinds if not k.startswith("full-spec")]
    if args.fixed_size > 0 and fixed_kinds:
        folder = base / f"wigan_core_{args.fixed_size}"
        if not (folder / "referrals.parquet").exists():
            _write_data(folder, args.fixed_size, full=False)
        for kind in fixed_kinds:
            result = run_measurement(kind, folder, args.timeout, repeat=3)
            result["size"] = args.fixed_size
            fixed_rows.append(result)
    print(table(rows))
    if fixed_rows:
        print("\n" + fixed_cost(fixed_rows, args.fixed_size))
    differ = disagreements(rows) + disagreements(fixed_rows)
    verdict = "all kinds agree" if not differ else "DISAGREE:\n  " + "\n  ".join(differ)
    print("\nfigures: " + verdict)
    validate, validate_cpu = time_validate()
    print(
        f"\nspecrules validate specs/*.yaml: {validate:.2f} s end to end ({validate_cpu:.2f} s CPU)"
    )
    cpu = os.cpu_count()
    import duckdb
    import pandas

    print(
        f"python {sys.version.split()[0]}, pandas {pandas.__version__}, "
        f"duckdb {duckdb.__version__}, {cpu} cores; {load_average()}"
    )
    if args.json:
        results = {
            "rows": rows,
            "fixed_cost": fixed_rows,
            "validate": validate,
            "validate_cpu": validate_cpu,
        }
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
