"""Rules → SQL: each rule's row classification as one CTE, from the same checked IR.

`spec_sql(plan, dialect)` writes a whole spec as one readable query a data team can run in
its own warehouse: a CTE per dataset that adds the derived fields, then a CTE per rule, each
commented with the rule's id, title and source, whose rows say which rows the rule is about
(`considered`), which are in its denominator and which meet it, with the row's date for
placing it in a period. A final SELECT counts them per rule.

The classification mirrors the pandas rule_rows: a condition that is unknown is not true, a
clock with no end event has not met its standard, an exception removes a row only when it
has not met the numerator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlglot import exp

from specrules.datetimes import dataset_zones
from specrules.dsl import ir
from specrules.dsl.types import SECONDS_IN
from specrules.engine.common.judging import ENDS_BEFORE_START, NUMERATOR_UNKNOWN
from specrules.engine.common.scope import counted_days
from specrules.engine.sql.expressions import (
    CALENDAR,
    DIALECTS,
    WORKDAYS,
    Scope,
    UnsupportedInDialect,
    calendar_number,
    compile_column,
    compile_sql,
    fill,
    instant_of,
    percentile_expression,
    shift,
    sql_text,
    statement,
)
from specrules.periods import Period, contract_end, periods_within
from specrules.spec.compiler import CompiledRule, Plan
from specrules.spec.models import TIMED_CLOCKS

ROW = "__row__"


class UnknownDialect(ValueError):
    def __init__(self, dialect: str):
        super().__init__(f"unknown SQL dialect `{dialect}`; choose one of: {', '.join(DIALECTS)}")


def _true(e: exp.Expression | None, default: bool) -> exp.Expression:
    """Where a condition is definitely true: COALESCE(condition, FALSE)."""
    if e is None:
        return exp.true() if default else exp.false()
    return exp.Coalesce(this=e, expressions=[exp.false()])


def _not(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.paren(e))


def _and(*parts: exp.Expression) -> exp.Expression:
    result = parts[0]
    for part in parts[1:]:
        result = exp.And(this=result, expression=part)
    return result


@dataclass
class Layout:
    """The SQL relation of every dataset, with its derived fields added."""

    ctes: list[tuple[str, exp.Expression, str]]  # name, query, comment
    relations: dict[str, exp.Expression]
    scope: Scope

    def scope_of(self, dataset: str | None = None, alias: str | None = None, tables=None) -> Scope:
        """Where an expression is compiled: a dataset's rows under `alias`, or the top level
        (for aggregates), over `tables` (by default every dataset's relation)."""
        return Scope(
            dialect=self.scope.dialect,
            dataset=dataset,
            alias=alias,
            tables=tables if tables is not None else self.relations,
            full_tables=self.relations,
            keys=self.scope.keys,
            links=self.scope.links,
            zones=self.scope.zones,
            instant_fields=self.scope.instant_fields,
        )


def dataset_layout(
    plan: Plan, dialect: str, sources: dict[str, exp.Expression], instants: bool = False
) -> Layout:
    """CTEs adding each dataset's derived fields, one layer per field, in dependency order.
    With `instants`, the sources are the engines' typed tables, which hold each datetime
    field's instant beside it (engine/sql/files.py)."""
    keys = {n: d.schema.key[0] for n, d in plan.datasets.items() if len(d.schema.key) == 1}
    links = {
        n: {name: (link.dataset, link.column) for name, link in d.schema.links.items()}
        for n, d in plan.datasets.items()
    }
    relations = dict(sources)
    scope = Scope(
        dialect=dialect,
        tables=relations,
        full_tables=relations,
        keys=keys,
        links=links,
        zones=dataset_zones(plan.spec),
        instant_fields={
            name: frozenset(f for f in ds.fields if ds.field_spec(f).type == "datetime")
            for name, ds in plan.spec.datasets.items()
        }
        if instants
        else {},
    )
    pending = [(ds.name, name, node) for ds in plan.datasets.values() for name, node in ds.derived]
    derived = {(d, n) for d, n, _ in pending}
    done: set[tuple[str, str]] = set()
    ctes: list[tuple[str, exp.Expression, str]] = []
    layout = Layout(ctes, relations, scope)  # filled in below, layer by layer
    layer: dict[str, int] = {}
    while pending:
        ready = [
            item
            for item in pending
            if all(
                dep in done or dep not in derived
                for dep in {
                    (s.dataset, s.column)
                    for s in ir.walk(item[2])
                    if isinstance(s, ir.Reference) and s.dataset and s.column
                }
            )
        ]
        if not ready:  # a cycle: the compiler's checks report it; export what we can
            break
        for dataset, name, node in ready:
            layer[dataset] = layer.get(dataset, 0) + 1
            here = layout.scope_of(dataset, "t")
            query = exp.select(exp.Star(), compile_column(node, here).as_(name, quoted=True)).from_(
                relations[dataset].copy().as_("t")
            )
            cte_name = f"{dataset}__{layer[dataset]}"
            ctes.append((cte_name, query, f"{dataset}: derived field `{name}`"))
            relations[dataset] = exp.to_table(cte_name)
            done.add((dataset, name))
            pending.remove((dataset, name, node))
    return layout


@dataclass
class ReasonCodes:
    """Why rows fail or are left out, as numbered texts: the SQL gives each row a code (a
    small number, cheap to keep and fetch) and the engine turns codes into text. A late row's
    reason is worded from its `elapsed` and `allowed` columns by the pandas rule_rows's
    `late_reasons`, so both engines' words come from one function."""

    failure: list[str | None] = field(default_factory=list)  # None: late (worded from numbers)
    left_out: list[str] = field(default_factory=list)
    unit: str = "days"  # a late row's elapsed and allowed: hours or days


Cases = list[tuple[exp.Expression, str | None]]


def _first_code(cases: Cases, texts: list) -> exp.Expression:
    """CASE WHEN … THEN code …: the first reason that applies to a row wins, as in
    the pandas rule_rows's `Reasons`; NULL where none does. Each text is appended to `texts`."""
    ifs = []
    for where, text in cases:
        ifs.append(exp.If(this=where, true=exp.Literal.number(len(texts))))
        texts.append(text)
    if not ifs:
        return exp.cast(exp.null(), "INT")
    return exp.Case(ifs=ifs, default=exp.cast(exp.null(), "INT"))


def _is_null(e: exp.Expression) -> exp.Expression:
    operand = e.copy()
    # `NOT a IS NULL` reads NOT (a IS NULL), and Spark cannot read `a IN (…) IS NULL`
    if not isinstance(operand, exp.Column | exp.Cast | exp.Literal | exp.Paren):
        operand = exp.paren(operand)
    return exp.Is(this=operand, expression=exp.null())


def _named_cases(
    rule: CompiledRule, name: str, scope: Scope, rows: exp.Expression, prefix: str
) -> Cases:
    """Why `rows` were taken out by exclusions or exceptions `name`: the condition as written,
    or the name of the first of a named list that applies (as the pandas rule_rows words it)."""
    named = rule.named.get(name)
    if named is None:
        return [(rows, f"{prefix}: {getattr(rule.model, name)}")]
    return [
        (_and(rows.copy(), _true(compile_sql(node, scope), False)), f"{prefix}: {label}")
        for label, node in named
    ]


def _named_reason(cases: Cases, prefix: str) -> exp.Expression:
    """The name of the first named condition that applies to a row (`specrules sql`)."""
    ifs = [
        exp.If(this=where, true=exp.Literal.string(str(text).removeprefix(prefix + ": ")))
        for where, text in cases
    ]
    return exp.Case(ifs=ifs, default=exp.cast(exp.null(), "VARCHAR"))


def rule_columns(
    rule: CompiledRule, scope: Scope, as_of=None, reasons: ReasonCodes | None = None
) -> dict[str, exp.Expression]:
    """Row-level columns of one rule: considered, denominator, numerator (and more).

    With `reasons` (filled in here), also `failure` (why a denominator row fails) and
    `left_out` (why a row is not counted) as codes into its texts, worded as the pandas rule_rows
    words them, for the engines that evaluate.
    """
    model = rule.model
    e = rule.expressions

    def get(name: str) -> exp.Expression | None:
        return compile_sql(e[name], scope) if name in e else None

    out: dict[str, exp.Expression] = {}
    failure: Cases = []
    left_out: Cases = []
    if rule.date is not None:
        out["rule_date"] = compile_sql(rule.date, scope)
    if rule.kind == "eligibility":
        applies = get("applies_to")
        considered = _true(applies, True)
        if model.accept is not None:
            raw = get("accept")
            text = f"fails `{model.accept}`"
        else:
            exclude = get("exclude")
            raw = _not(exclude) if exclude is not None else None
            text = f"excluded by `{model.exclude}`"
        passes = _true(raw, True)
        action = model.on_fail.replace("_", " ")
        eligible = (
            None if rule.eligible is None else _true(compile_sql(rule.eligible, scope), False)
        )
        if model.decision is not None:
            # as the pandas rule_rows: taken on though not eligible, or eligible and turned away
            decision = get("decision")
            taken = _true(decision, False)
            failure.append(
                (_and(considered.copy(), _is_null(decision)), "no decision recorded (missing data)")
            )
            if raw is not None:
                failure.append(
                    (
                        _and(considered.copy(), _is_null(raw), taken.copy()),
                        f"cannot tell (missing data) → {action}",
                    )
                )
            failure.append(
                (
                    _and(considered.copy(), _not(passes.copy()), taken.copy()),
                    f"{text} → {action}",
                )
            )
            if eligible is not None:
                failure.append(
                    (
                        _and(considered.copy(), eligible.copy(), _not(taken.copy())),
                        "eligible on every criterion, but turned away",
                    )
                )
            fails = failure[0][0].copy()
            for where, _ in failure[1:]:
                fails = exp.Or(this=fails, expression=where.copy())
            agrees = _and(considered.copy(), _not(fails))
        else:
            if raw is not None:
                failure.append(
                    (
                        _and(considered.copy(), _is_null(raw)),
                        f"cannot tell (missing data) → {action}",
                    )
                )
            failure.append((_and(considered.copy(), _not(passes.copy())), f"{text} → {action}"))
            agrees = _and(considered.copy(), passes)
        if applies is not None:
            left_out.append((_is_null(applies), "`applies_to` unknown (missing data)"))
        if eligible is not None:
            out["not_eligible"] = _not(eligible)
        out.update(
            considered=considered,
            in_denominator=considered.copy(),
            in_numerator=agrees,
        )
        return _with_reasons(out, failure, left_out, reasons)
    if rule.kind == "response_time":
        applies = get("applies_to")
        considered = _true(applies, True)
        start, end = get("start"), get("end")
        limit_node = e["limit"]
        limit = compile_sql(limit_node, scope)
        kind = limit_node.type.duration_kind if limit_node.type else "time"
        d = scope.dialect
        if model.clock in TIMED_CLOCKS:  # elapsed time: from instants, not wall clocks
            begin = instant_of(e["start"], start, scope)
            deadline = shift(begin.copy(), limit, kind, scope)
            finished = instant_of(e["end"], end, scope)
        else:
            begin = fill("day", d, x=start)
            deadline = shift(begin.copy(), limit, kind, scope)
            if kind != "time":
                deadline = fill("day", d, x=deadline)
            finished = fill("day", d, x=end)
        # a clock that stops before it starts is bad data, not a fast response: it fails
        backwards = _true(exp.LT(this=finished.copy(), expression=begin.copy()), False)
        on_time = _and(
            _true(exp.LTE(this=finished, expression=deadline), False), _not(backwards.copy())
        )
        if applies is not None:
            left_out.append((_is_null(applies), "`applies_to` unknown (missing data)"))
        denominator = considered
        if as_of is not None:
            # a clock still running whose deadline is after the as-of date has not breached
            running = _and(
                considered.copy(),
                _is_null(end),
                exp.Not(this=_is_null(start)),
                _true(exp.GT(this=deadline.copy(), expression=_as_of(as_of, d)), False),
            )
            left_out.append((running.copy(), "clock still running at the as-of date"))
            denominator = _and(considered.copy(), _not(running))
        failing = _and(denominator.copy(), _not(on_time.copy()))
        failure += [
            (_and(failing.copy(), _is_null(start)), "no start event"),
            (_and(failing.copy(), _is_null(limit)), "no limit for this row"),
            (_and(failing.copy(), _is_null(end)), "no end event (clock never stopped)"),
            (_and(failing.copy(), backwards), ENDS_BEFORE_START),
            (failing, None),  # late: worded from `elapsed` and `allowed`
        ]
        if reasons is not None:
            if model.clock in TIMED_CLOCKS:
                reasons.unit = model.clock
            else:
                reasons.unit = "working days" if kind == "working" else "days"
            out["elapsed"] = _time_between(begin, finished, reasons.unit, d)
            out["allowed"] = (
                exp.cast(limit.copy(), "DOUBLE")
                if reasons.unit == "working days"
                else _time_between(begin, deadline, reasons.unit, d)
            )
        out.update(
            considered=considered,
            in_denominator=denominator,
            in_numerator=_and(denominator.copy(), on_time),
        )
        return _with_reasons(out, failure, left_out, reasons)
    # kpis
    initial = get("initial_population")
    considered = _true(initial, True)
    if initial is not None:
        left_out.append((_is_null(initial), "initial population unknown (missing data)"))
    excluded = _true(get("denominator_exclusions"), False)
    if model.scoring in ("count", "continuous"):
        measured = _and(considered, _not(excluded))
        out["considered"] = considered.copy()
        if model.denominator_exclusions:
            cases = _named_cases(
                rule,
                "denominator_exclusions",
                scope,
                _and(considered.copy(), excluded.copy()),
                "excluded",
            )
            left_out += cases
            if reasons is None and "denominator_exclusions" in rule.named:
                out["exclusion_reason"] = _named_reason(cases, "excluded")
        if model.scoring == "continuous":
            observation = compile_column(e["observation"], scope)
            if observation_in_time(rule):  # seconds here; in the figure's unit, as on pandas
                per = float(SECONDS_IN[rule.duration_unit])
                observation = exp.Div(
                    this=exp.paren(observation),
                    expression=exp.Literal.number(per),
                    typed=False,
                    safe=False,
                )
            out["observation"] = observation
            left_out.append(
                (_and(measured.copy(), _is_null(observation)), "no value to measure (missing data)")
            )
            measured = _and(measured, exp.Not(this=_is_null(observation)))
        elif model.distinct:
            out["distinct_value"] = exp.column(model.distinct, scope.alias, quoted=True)
        out["in_denominator"] = measured
        return _with_reasons(out, failure, left_out, reasons)
    if model.scoring == "ratio":
        return out
    denominator_raw = get("denominator")
    in_denominator = _and(considered, _true(denominator_raw, True))
    if denominator_raw is not None:
        left_out.append(
            (
                _and(considered.copy(), _is_null(denominator_raw)),
                "denominator unknown (missing data)",
            )
        )
    left_out.append(
        (_and(considered.copy(), _not(in_denominator.copy())), "not in the denominator")
    )
    numerator_raw = get("numerator")
    meets = _true(numerator_raw, False)
    against = rule.lower_is_better  # the numerator's rows are the ones that fail
    if against and numerator_raw is not None:  # an unknown numerator counts against
        meets = exp.paren(exp.Or(this=meets, expression=_is_null(numerator_raw)))
    if model.denominator_exclusions:
        cases = _named_cases(
            rule,
            "denominator_exclusions",
            scope,
            _and(in_denominator.copy(), excluded.copy()),
            "denominator exclusion",
        )
        left_out += cases
        if reasons is None and "denominator_exclusions" in rule.named:
            out["exclusion_reason"] = _named_reason(cases, "denominator exclusion")
    if reasons is not None:  # counted as a population by the engines
        out["denominator_exclusion"] = _and(in_denominator.copy(), excluded.copy())
    denominator = _and(in_denominator, _not(excluded))
    if "denominator_exceptions" in e:
        # an exception removes a row only when it has not met the numerator
        excepted = _and(
            denominator.copy(),
            _not(meets.copy()),
            _true(get("denominator_exceptions"), False),
        )
        cases = _named_cases(
            rule, "denominator_exceptions", scope, excepted.copy(), "denominator exception"
        )
        left_out += cases
        if reasons is None and "denominator_exceptions" in rule.named:
            out["exception_reason"] = _named_reason(cases, "denominator exception")
        denominator = _and(denominator, _not(excepted))
    if numerator_raw is not None:
        failure.append(
            (_and(denominator.copy(), _is_null(numerator_raw)), NUMERATOR_UNKNOWN[against])
        )
    if against:
        failure.append((_and(denominator.copy(), meets.copy()), f"meets `{model.numerator}`"))
    else:
        failure.append(
            (_and(denominator.copy(), _not(meets.copy())), f"does not meet `{model.numerator}`")
        )
    out.update(
        considered=considered.copy(),
        in_denominator=denominator,
        in_numerator=_and(denominator.copy(), meets),
    )
    return _with_reasons(out, failure, left_out, reasons)


def failing_rows(rule: CompiledRule, denominator: str, numerator: str) -> str:
    """The condition on a rule's classified rows that picks the rows failing it, from the
    columns saying a row is in its `denominator` and in its `numerator`."""
    if getattr(rule, "lower_is_better", False):
        return numerator
    return f"{denominator} AND NOT {numerator}"


def observation_in_time(rule: CompiledRule) -> bool:
    """Whether a continuous KPI observes a length of time (hours, days: not working days or
    months, which are counts)."""
    kind = rule.expressions["observation"].type
    return kind is not None and kind.kind == "duration" and kind.duration_kind == "time"


def _time_between(a: exp.Expression, b: exp.Expression, unit: str, dialect: str):
    """Hours (minutes, seconds), calendar days or working days from `a` to `b`, as
    the pandas rule_rows's `_elapsed` counts them for a late row's reason."""
    if unit in TIMED_CLOCKS:
        seconds = statement(
            f"(:b - :a) / {float(SECONDS_IN[unit])!r}",
            a=fill("epoch", dialect, x=a.copy()),
            b=fill("epoch", dialect, x=b.copy()),
        )
        return exp.cast(seconds, "DOUBLE")
    if unit == "working days":
        # working days after the first working day on or after `a`, up to `b`; none if before
        count = statement(
            "CAST(:done - :began AS DOUBLE)",
            done=calendar_number("cum", b.copy()),
            began=calendar_number("fwd", a.copy()),
        )
        return statement("CASE WHEN :n < 0 THEN 0.0 ELSE :n END", n=count)
    return fill("days_between", dialect, a=a.copy(), b=b.copy())


def _with_reasons(
    out: dict[str, exp.Expression], failure: Cases, left_out: Cases, reasons: ReasonCodes | None
) -> dict[str, exp.Expression]:
    if reasons is not None:
        out["failure"] = _first_code(failure, reasons.failure)
        out["left_out"] = _first_code(left_out, reasons.left_out)
    return out


def _as_of(as_of, dialect: str) -> exp.Expression:
    return exp.cast(exp.Literal.string(str(as_of)), exp.DataType.build("TIMESTAMP"))


def _comment(rule: CompiledRule) -> str:
    model = rule.model
    lines = [f"rule {model.id} ({rule.kind}): {model.title}"]
    source = model.source
    where = source.section + (f", line {source.line}" if source.line else "")
    lines.append(f"source: {where}")
    if source.quote:
        lines.append(f'"{source.quote}"')
    for name, node in rule.expressions.items():
        from specrules.dsl.printer import to_text

        lines.append(f"{name}: {to_text(node)}")
    return "\n".join(lines)


def at_period_ends(
    relation: exp.Expression, periods: list, ends: str | None = None
) -> exp.Expression:
    """A dataset's rows once per period end, with `period_start`, `period_end` (dates) and
    the period's label (`__snapshot`): a snapshot rule's relation, aliased `t`. The period
    ends are `periods`, or the rows of query `ends` (label, period_start, period_end)."""
    if ends is not None:
        ends = f"({ends}) AS sp"
    elif not periods:  # no period end: no rows (typed as they would be)
        periods_sql = "SELECT CAST(NULL AS VARCHAR) AS label, CAST(NULL AS DATE) AS period_start, "
        periods_sql += "CAST(NULL AS DATE) AS period_end WHERE 1 = 0"
        ends = f"({periods_sql}) AS sp"
    else:
        values = ", ".join(
            f"({sql_text(p.label)}, DATE {sql_text(str(p.start))}, DATE {sql_text(str(p.end))})"
            for p in periods
        )
        ends = f"(VALUES {values}) AS sp(label, period_start, period_end)"
    query = statement(
        "SELECT t.*, sp.label AS __snapshot, sp.period_start AS period_start, "
        f"sp.period_end AS period_end FROM specrules_rows AS t CROSS JOIN {ends}"
    )
    query = query.from_(relation, copy=False)  # the dataset's relation, aliased t
    return exp.paren(query).as_("t", copy=False)


def rows_in_period(
    rule: CompiledRule, period: Period, layout: Layout, plan: Plan, as_of: dt.date | None
) -> dict[str, exp.Expression]:
    """Each dataset's relation cut to the rows dated in `period` (undated ones whole)."""
    relations = {}
    for name, relation in layout.relations.items():
        date = plan.datasets[name].date
        if date is None:
            relations[name] = relation
            continue
        start, end = counted_days(rule, period, plan, as_of)
        condition = statement(
            f"CAST(:d AS DATE) BETWEEN DATE {sql_text(str(start))} AND DATE {sql_text(str(end))}",
            d=compile_sql(date, layout.scope_of(name, "p")),
        )
        relations[name] = exp.paren(
            exp.select("*").from_(relation.copy().as_("p")).where(condition)
        )
    return relations


def contract_periods(rule: CompiledRule, contract) -> list[Period]:
    """Every period of the rule's kind (month, quarter, year) in the contract."""
    whole = Period(contract.start, contract_end(contract), "span", "all")
    return periods_within(whole, rule.period, contract)


def rule_query(rule: CompiledRule, layout: Layout, as_of=None, contract=None) -> exp.Expression:
    """SELECT one row per row of the rule's dataset, with the rule's columns."""
    dataset = rule.model.dataset
    scope = layout.scope_of(dataset, "t")
    columns = rule_columns(rule, scope, as_of)
    if rule.kind == "kpi" and rule.model.scoring == "ratio":
        top = layout.scope_of()
        return exp.select(
            exp.Literal.string(rule.id).as_("rule_id"),
            compile_column(rule.expressions["numerator"], top).as_("numerator"),
            compile_column(rule.expressions["denominator"], top).as_("denominator"),
        )
    key = scope.keys.get(dataset)
    select = [exp.Literal.string(rule.id).as_("rule_id")]
    relation = layout.relations[dataset].copy().as_("t")
    if rule.model.snapshot:  # each row once per period end of the contract
        relation = at_period_ends(relation, contract_periods(rule, contract))
        select.append(exp.column("__snapshot", "t").as_("period"))
    if key is not None:
        select.append(exp.column(key, "t", quoted=True).as_("row_key"))
    select += [expression.as_(name) for name, expression in columns.items()]
    return exp.select(*select).from_(relation)


def _summary(rule: CompiledRule, dialect: str) -> exp.Expression:
    """Counts of one rule's CTE: the figures a verdict is judged on (before periods)."""
    name = exp.to_identifier(rule.id, quoted=True)
    if rule.kind == "kpi" and rule.model.scoring == "ratio":
        value = exp.Div(
            this=exp.column("numerator"),
            expression=exp.Nullif(this=exp.column("denominator"), expression=exp.Literal.number(0)),
        )
        return exp.select(
            exp.column("rule_id"),
            exp.column("numerator"),
            exp.column("denominator"),
            value.as_("value"),
        ).from_(exp.to_table(name))

    def count(column: str) -> exp.Expression:
        return exp.Sum(
            this=exp.Case(
                ifs=[exp.If(this=exp.column(column), true=exp.Literal.number(1))],
                default=exp.Literal.number(0),
            )
        )

    scoring = getattr(rule.model, "scoring", "proportion")
    if scoring == "proportion":
        numerator = count("in_numerator")
        value = exp.Div(
            this=exp.cast(count("in_numerator"), "DOUBLE"),
            expression=exp.Nullif(this=count("in_denominator"), expression=exp.Literal.number(0)),
        )
    elif scoring == "continuous":
        numerator = exp.cast(exp.null(), "DOUBLE")
        aggregate = {"sum": exp.Sum, "mean": exp.Avg, "min": exp.Min, "max": exp.Max}.get(
            rule.model.aggregate or "sum", exp.Avg
        )
        if rule.model.aggregate == "percentile":
            value = percentile_expression(
                exp.column("observation"),
                rule.model.percentile,
                rule.model.percentile_method,
                dialect,
                exp.column("in_denominator"),
            )
        else:
            if rule.model.aggregate == "median":
                value = exp.Median(this=exp.column("observation"))
            else:
                value = aggregate(this=exp.column("observation"))
            where = exp.Where(this=exp.column("in_denominator"))
            value = exp.Filter(this=value, expression=where)
    else:
        numerator = exp.cast(exp.null(), "DOUBLE")
        value = (
            exp.Count(this=exp.Distinct(expressions=[exp.column("distinct_value")]))
            if rule.model.distinct
            else count("in_denominator")
        )
        if rule.model.distinct:
            value = exp.Filter(this=value, expression=exp.Where(this=exp.column("in_denominator")))
    rule_id: exp.Expression = exp.Literal.string(rule.id)
    if rule.model.snapshot:  # one figure per period end: `rule_id 2024-04`
        rule_id = exp.DPipe(this=exp.Literal.string(rule.id + " "), expression=exp.column("period"))
    summary = exp.select(
        rule_id.as_("rule_id"),
        exp.cast(numerator, "DOUBLE").as_("numerator"),
        exp.cast(count("in_denominator"), "DOUBLE").as_("denominator"),
        exp.cast(value, "DOUBLE").as_("value"),
    ).from_(exp.to_table(name))
    return summary.group_by(exp.column("period")) if rule.model.snapshot else summary


def spec_sql(plan: Plan, dialect: str = "duckdb") -> str:
    """The whole spec as one commented SQL query in `dialect` (see the module docstring)."""
    if dialect not in DIALECTS:
        raise UnknownDialect(dialect)
    sources = {name: exp.to_table(name) for name in plan.datasets}
    layout = dataset_layout(plan, dialect, sources)
    parts: list[str] = []
    for name, query, comment in layout.ctes:
        parts.append(
            f"-- {comment}\n{_q(name)} AS (\n{_indent(query.sql(dialect, pretty=True))}\n)"
        )
    summaries = []
    for rule in plan.rules:
        query = rule_query(rule, layout, contract=plan.spec.contract)
        comment = "\n".join(f"-- {line}" for line in _comment(rule).splitlines())
        parts.append(
            f"{comment}\n{_q(rule.id, dialect)} AS (\n{_indent(query.sql(dialect, pretty=True))}\n)"
        )
        summaries.append(_summary(rule, dialect).sql(dialect, pretty=True))
    uses_calendar = any(CALENDAR in p for p in parts)
    header = [
        f"-- {plan.spec.title}",
        f"-- Generated by specrules for {dialect}. Each rule is one CTE: one row per row of",
        "-- its dataset, saying whether the rule considers it, counts it in the denominator",
        "-- and finds that it meets the rule; rule_date places the row in a contract period.",
        "-- Tables are named after the spec's datasets, with the declared fields as columns.",
    ]
    if uses_calendar:
        header.append(
            f"-- Working days read {CALENDAR}(day, cum, fwd) and {WORKDAYS}(n, day): "
            "`specrules sql --calendar` prints them."
        )
    body = ",\n".join(parts)
    final = "\nUNION ALL\n".join(summaries) if summaries else "SELECT 1"
    return "\n".join(header) + f"\nWITH\n{body}\n{final}\n"


def _q(name: str, dialect: str = "duckdb") -> str:
    # quoted when upper case too (a rule id `C1_mean`): unquoted, some engines fold it
    plain = name.isidentifier() and name == name.lower()
    return exp.to_identifier(name, quoted=not plain).sql(dialect)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


__all__ = ["UnknownDialect", "UnsupportedInDialect", "rule_columns", "rule_query", "spec_sql"]
