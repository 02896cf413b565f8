"""A smoke run of benchmarks/bench_wigan.py at its smallest size: it runs, every kind gives
the same figures, and the table it prints names them. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_wigan  # noqa: E402
from wigan_data import conform, frames_bytes, generate  # noqa: E402

import specrules  # noqa: E402


@pytest.fixture(scope="module")
def core_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bench") / "core"
    folder.mkdir()
    for name, frame in generate(400, seed=3).items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_generator_is_the_core_spec_shape_and_deterministic():
    frames = generate(500, seed=1)
    again = generate(500, seed=1)
    spec = specrules.load(bench_wigan.CORE_SPEC)
    for name, ds in spec.model.datasets.items():
        assert set(ds.fields) <= set(frames[name].columns), name
        assert frames[name].equals(again[name])
    assert len(frames["referrals"]) == 500
    assert frames["referrals"]["referral_id"].is_unique
    assert frames["referrals"]["age"].isna().any()  # missing values are exercised
    assert frames_bytes(frames) > 0


def test_conform_fills_every_declared_field_with_linked_keys():
    spec = specrules.load(bench_wigan.FULL_SPEC).model
    frames = conform(generate(300, seed=2), spec)
    assert set(frames) == set(spec.datasets)
    for name, ds in spec.datasets.items():
        assert set(ds.fields) <= set(frames[name].columns), name
        for link in ds.links.values():
            parent = frames[link.dataset][spec.datasets[link.dataset].key_fields[0]]
            assert frames[name][link.field].dropna().isin(parent).all(), (name, link.field)


def test_every_kind_gives_the_same_figures(core_folder):
    kinds = ["pandas-by-hand", "specrules-pandas", "duckdb-by-hand", "polars-by-hand"]
    if bench_wigan.sql_engine_available():
        kinds.append("specrules-duckdb")
    rows = []
    for kind in kinds:
        row = bench_wigan.measure(kind, core_folder)
        row["size"] = 400
        rows.append(row)
        assert row["seconds"] > 0 and row["input_bytes"] > 0
        assert any(key.startswith("quit_at_4_weeks@") for key in row["figures"]), kind
    assert bench_wigan.disagreements(rows) == []
    printed = bench_wigan.table(rows)
    for kind in kinds:
        assert kind in printed


def test_disagreements_are_reported():
    rows = [
        {"size": 1, "kind": "a", "figures": {"k@2019/20": 0.5}},
        {"size": 1, "kind": "b", "figures": {"k@2019/20": 0.25}},
    ]
    assert bench_wigan.disagreements(rows) == ["1 k@2019/20: a 0.5, b 0.25"]


def test_the_script_runs_at_its_smallest_size(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_wigan.py"),
            "--sizes",
            "300",
            "--kinds",
            "pandas-by-hand,specrules-pandas",
            "--data-dir",
            str(tmp_path),
            "--fixed-size",
            "300",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "specrules-pandas" in done.stdout and "all kinds agree" in done.stdout
    assert "specrules validate" in done.stdout
    results = json.loads(out.read_text())
    assert [r["kind"] for r in results["rows"]] == ["pandas-by-hand", "specrules-pandas"]
    assert all("error" not in r for r in results["rows"])
    # the fixed cost: each kind's first evaluation and the best of two more, on its own line
    fixed = results["fixed_cost"]
    assert [r["kind"] for r in fixed] == ["pandas-by-hand", "specrules-pandas"]
    assert all(r["warm_seconds"] > 0 and r["warm_cpu_seconds"] > 0 for r in fixed)
    assert "fixed cost per evaluation at 300 referrals" in done.stdout


def test_bad_sizes_are_a_clear_usage_error():
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_wigan.py"), "--sizes", "lots"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--sizes" in done.stderr and "Traceback" not in done.stderr
