"""Checks across rows that a SQL engine makes as the pandas engine does, as data issues.

A link whose value is no row of the linked dataset, and a row dated outside the contract
(so in no period), are reported row by row with the same words as specrules.data and
engine/pandas/evaluator.py, so that an evaluation lists the same data issues on every engine.
Each check is one query over every dataset (a UNION ALL): an engine such as Spark pays for
each query more than for its size.
"""

from __future__ import annotations

from sqlglot import exp

from specrules.data import issue
from specrules.engine.common.scope import dated_by_dataset
from specrules.engine.sql.expressions import compile_sql, fill, sql_text, statement
from specrules.engine.sql.files import ROW, Runner, union_all
from specrules.engine.sql.rule_rows import Layout
from specrules.periods import contract_end
from specrules.results import DataIssue
from specrules.spec.compiler import Plan


def value_text(plan: Plan, dataset: str, name: str, dialect: str, alias: str) -> exp.Expression:
    """A value as text, written as the pandas engine writes it (dates without 00:00)."""
    kind = plan.catalog.datasets[dataset].fields[name].kind
    column = exp.column(name, alias, quoted=True)
    if kind in ("date", "datetime"):
        return fill("timestamp_text", dialect, x=column)
    if kind == "number":
        return fill("number_text", dialect, x=column)
    return statement("CAST(:c AS VARCHAR)", c=column)


def _link_value_text(plan: Plan, dataset: str, name: str, dialect: str) -> exp.Expression:
    """A link's value as the pandas engine's link check writes it: Python's `str(value)`."""
    kind = plan.catalog.datasets[dataset].fields[name].kind
    column = exp.column(name, "c", quoted=True)
    if kind in ("date", "datetime"):
        return fill("timestamp_full_text", dialect, x=column)
    if kind == "boolean":
        return statement("CASE WHEN :c THEN 'True' ELSE 'False' END", c=column)
    return value_text(plan, dataset, name, dialect, "c")


def links_to_nothing(sql: Runner, plan: Plan, missing: dict[str, str]) -> list[DataIssue]:
    """Every row whose link names no row of the linked dataset."""
    selects, checked = [], []
    for name, ds in plan.spec.datasets.items():
        for link_name, link in ds.links.items():
            if name in missing or link.dataset in missing:
                continue  # a dataset without data is reported as such
            key = plan.spec.datasets[link.dataset].key_fields[0]
            child = exp.column(link.field, "c", quoted=True)
            parent = exp.column(key, "p", quoted=True)
            selects.append(
                statement(
                    f"SELECT {len(checked)} AS link_index, c.{ROW} AS row_number, "
                    ":shown AS value FROM :child AS c WHERE :value IS NOT NULL AND NOT EXISTS "
                    "(SELECT 1 FROM :parent AS p WHERE :key = :value)",
                    shown=_link_value_text(plan, name, link.field, sql.dialect),
                    child=exp.to_table(name),
                    parent=exp.to_table(link.dataset),
                    key=parent,
                    value=child,
                )
            )
            checked.append((name, link_name, link))
    if not selects:
        return []
    found = sql.rows(union_all(selects, "orphans").order_by("link_index", "row_number"))
    issues = []
    for index, row, value in found:
        name, link_name, link = checked[index]
        message = f"link `{link_name}`: no {link.dataset} row has this key"
        issues.append(issue(name, message, int(row), link.field, str(value)))
    return issues


def dated_outside_contract(sql: Runner, plan: Plan, layout: Layout) -> list[DataIssue]:
    """Every row of a dataset placed by its date that is dated outside the contract."""
    contract = plan.spec.contract
    first, last = contract.start, contract_end(contract)
    names = dated_by_dataset(plan)
    selects = []
    for index, name in enumerate(names):
        day = compile_sql(plan.datasets[name].date, layout.scope_of(name, "t"))
        relation = layout.relations[name].copy().as_("t", copy=False)
        selects.append(
            statement(
                f"SELECT {index} AS dataset_index, t.{ROW} AS row_number, "
                "CAST(:d AS DATE) AS day FROM :r WHERE CAST(:d AS DATE) "
                f"NOT BETWEEN DATE {sql_text(str(first))} AND DATE {sql_text(str(last))}",
                d=day,
                r=relation,
            )
        )
    if not selects:
        return []
    found = sql.rows(union_all(selects, "outside").order_by("dataset_index", "row_number"))
    message = f"outside the contract ({first} to {last}): in no period, so not evaluated"
    return [issue(names[i], f"dated {day}, {message}", int(row)) for i, row, day in found]
