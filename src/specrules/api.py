"""The public entry points: `load` a spec file, then `Spec.evaluate` data against it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from specrules.data import DataInput
from specrules.engine.pandas.evaluator import evaluate_spec
from specrules.errors import Diagnostic, SpecError
from specrules.results import Evaluation
from specrules.spec import models
from specrules.spec.compiler import Plan, compile_spec
from specrules.spec.diagnose import diagnostics_from_validation
from specrules.spec.extends import load_spec_yaml
from specrules.spec.yaml_source import SourceMap, read_spec_text


class Spec:
    """A validated, compiled spec, ready to evaluate data against."""

    def __init__(self, plan: Plan, source: SourceMap, path: str | None = None):
        self.plan = plan
        self.source = source
        self.path = path
        self.warnings: list[Diagnostic] = plan.warnings

    @property
    def model(self) -> models.Spec:
        return self.plan.spec

    @property
    def title(self) -> str:
        return self.model.title

    @property
    def rule_ids(self) -> list[str]:
        return [r.id for r in self.plan.rules]

    def evaluate(
        self,
        data: DataInput,
        period: str | None = None,
        as_of: dt.date | None = None,
        progress: Callable[[int, int, str], None] | None = None,
        engine: str = "pandas",
    ) -> Evaluation:
        """Evaluate every rule against `data`.

        `data` is a mapping of dataset name to DataFrame, a folder of CSV/Parquet files named
        after the datasets, or a list of such files. `period` is a contract year (`2019/20`),
        quarter (`2019/20-Q3`), month (`2020-01`), `contract`, or None/`all` for every
        contract year the data covers. `as_of` is the date the data was extracted: periods
        still running are then judged pro rata and open clocks not yet due are left out.
        `progress(done, total, label)`, if given, is called as the files are read (no rule
        done yet, `reading FILE 35%`) and after each rule (or each query of rules), on every engine.

        `engine` is `pandas` (the default: files or DataFrames, in memory), `duckdb` (files
        read by DuckDB, for data larger than memory) or `spark` (files read by Spark in local
        mode): the same verdicts from each (see docs/performance.md).
        """
        if engine == "pandas":
            return evaluate_spec(
                self.plan, data, period, as_of, self.path, self.source.combined_text(), progress
            )
        if engine == "duckdb":
            from specrules.engine.sql.on_duckdb import evaluate_spec_duckdb as evaluate_files
        elif engine == "spark":
            from specrules.engine.sql.on_spark import evaluate_spec_spark as evaluate_files
        else:
            raise ValueError(f"unknown engine {engine!r}; choose one of: pandas, duckdb, spark")
        return evaluate_files(
            self.plan,
            data,
            period,
            as_of,
            self.path,
            self.source.combined_text(),
            progress=progress,
        )

    def evaluate_many(
        self,
        data: Mapping[str, DataInput],
        period: str | None = None,
        as_of: dt.date | None = None,
    ) -> pd.DataFrame:
        """Evaluate several data sets (one per provider, locality or extract) against this spec.

        Returns one `to_frame()`-shaped frame with a `provider` column first, named by the
        mapping's keys (see `specrules.compare`, which takes Evaluations instead).
        """
        from specrules.comparison import compare

        if not isinstance(data, Mapping):
            raise TypeError(
                "evaluate_many takes a mapping of name to data, e.g. "
                '{"Doncaster": "data/doncaster", "Rotherham": frames}'
            )
        return compare({name: self.evaluate(d, period, as_of) for name, d in data.items()})

    def __repr__(self) -> str:
        rules, datasets = len(self.plan.rules), len(self.plan.datasets)
        return f"<Spec {self.title!r}: {rules} rules, {datasets} datasets>"

    def _repr_html_(self) -> str:
        from specrules.report.notebook import spec_html

        return spec_html(self)


def loads(text: str, file: str = "<string>") -> Spec:
    """Load a spec from YAML text; raise `SpecError` listing every problem found."""
    raw, source = load_spec_yaml(text, file)
    if not isinstance(raw, dict):
        raise SpecError(
            [Diagnostic("S000", "a spec is a mapping of keys (title:, datasets:, …)", file, 1, 1)]
        )
    try:
        model = models.Spec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(diagnostics_from_validation(exc, raw, source, models.Spec)) from None
    plan, problems = compile_spec(model, source)
    if plan is None:
        raise SpecError(problems)
    return Spec(plan, source, file)


def load(path: str | Path) -> Spec:
    """Load and compile a spec file."""
    return loads(read_spec_text(path), str(path))
