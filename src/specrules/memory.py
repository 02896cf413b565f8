"""Will the files fit in memory? Checked before the pandas engine reads them.

The pandas engine holds every dataset twice while it checks the data (as read and as
typed), and about five times its size at its peak (docs/performance.md). Files whose
in-memory size is more than half the memory available cannot be evaluated with it; they are
refused with a message naming the DuckDB engine, which reads files without loading them
whole, instead of the operating system killing the process half-way.
"""

from __future__ import annotations

import os
from pathlib import Path

from specrules.errors import DataError

# The least the pandas engine needs, as a multiple of the data's size in memory.
COPIES_HELD = 2
# Spreadsheets are compressed XML: their cells take several times the file's size.
SPREADSHEET_EXPANSION = 5


def available_memory(
    meminfo: Path = Path("/proc/meminfo"), cgroup: Path = Path("/sys/fs/cgroup")
) -> int | None:
    """Bytes of memory this process can still use (Linux), or None where unknown: the
    machine's `MemAvailable`, or what is left of a container's cgroup v2 limit if less."""
    found: list[int] = []
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError):
        pass
    try:  # a container's own limit, often far below the machine's
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            found.append(int(limit) - int((cgroup / "memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def in_memory_size(path: Path) -> int:
    """About how many bytes the file's values take once read (a lower estimate)."""
    size = path.stat().st_size
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        except Exception:  # an unreadable file is reported when it is read, not here
            return size
    if path.suffix.lower() in (".xlsx", ".xls"):
        return size * SPREADSHEET_EXPANSION
    return size  # CSV: the text itself, held as Arrow strings


def _gigabytes(count: float) -> str:
    return f"{count / 2**30:.1f} GB"


def check_fits(files: list[Path], available: int | None = None) -> None:
    """Refuse files the pandas engine cannot hold, naming the engine that can."""
    if os.environ.get("SPECRULES_NO_MEMORY_CHECK"):
        return
    available = available_memory() if available is None else available
    if available is None or not files:
        return
    size = sum(in_memory_size(f) for f in files)
    if size * COPIES_HELD > available:
        raise DataError(
            f"the data files take about {_gigabytes(size)} in memory, and the pandas engine "
            f"needs at least {COPIES_HELD} copies of them; {_gigabytes(available)} of memory "
            'is available. Use --engine duckdb (Python: spec.evaluate(data, engine="duckdb")), '
            "which reads the files without loading them whole, or --engine spark for data "
            "on a cluster."
        )
