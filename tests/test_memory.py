"""Files too large for the pandas engine are refused with a message naming the DuckDB engine."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import specrules
from specrules import memory
from specrules.cli import main
from specrules.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "wigan_lot1.yaml"
EXAMPLES = ROOT / "examples" / "wigan_lot1"


def test_csv_counts_its_bytes_and_parquet_its_uncompressed_values(tmp_path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("id,n\n1,2\n3,4\n")  # 5 + 4 + 4 bytes
    assert memory.in_memory_size(csv) == 13
    # 10,000 distinct doubles, uncompressed: 80,000 bytes of values, plus page headers
    table = pa.table({"n": pa.array([float(i) * 1.5 for i in range(10_000)])})
    parquet = tmp_path / "b.parquet"
    pq.write_table(table, parquet, compression="none", use_dictionary=False)
    assert 80_000 <= memory.in_memory_size(parquet) < 81_000


def test_files_needing_more_than_half_the_memory_are_refused(tmp_path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_bytes(b"x" * 1000)
    memory.check_fits([csv], available=2000)  # two copies of 1000 bytes fit in 2000
    with pytest.raises(DataError) as raised:
        memory.check_fits([csv], available=1999)
    assert "--engine duckdb" in str(raised.value)


def test_evaluating_too_large_files_says_use_duckdb(monkeypatch, capsys) -> None:
    monkeypatch.delenv("SPECRULES_NO_MEMORY_CHECK", raising=False)
    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    status = main(["evaluate", str(SPEC), "--data", str(EXAMPLES)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: the data files take about")
    assert "--engine duckdb" in err and "Traceback" not in err


def test_frames_already_in_memory_are_not_checked(monkeypatch) -> None:
    import pandas as pd

    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    frames = {p.stem: pd.read_csv(p, dtype=str) for p in EXAMPLES.glob("*.csv")}
    evaluation = specrules.load(SPEC).evaluate(frames)
    assert evaluation.verdicts


def test_the_check_can_be_turned_off(monkeypatch) -> None:
    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    monkeypatch.setenv("SPECRULES_NO_MEMORY_CHECK", "1")
    assert specrules.load(SPEC).evaluate(EXAMPLES).verdicts


def test_available_memory_is_the_lesser_of_the_machine_and_the_container(tmp_path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  8000 kB\nMemFree:  3000 kB\nMemAvailable:  4000 kB\n")
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    # no container limit: the machine's 4000 kB
    (cgroup / "memory.max").write_text("max\n")
    assert memory.available_memory(meminfo, cgroup) == 4000 * 1024
    # a container limit of 3,000,000 bytes with 1,000,000 used leaves 2,000,000
    (cgroup / "memory.max").write_text("3000000\n")
    (cgroup / "memory.current").write_text("1000000\n")
    assert memory.available_memory(meminfo, cgroup) == 2_000_000
    # neither can be read: unknown, and the check is then not made
    assert memory.available_memory(tmp_path / "none", tmp_path / "none") is None
