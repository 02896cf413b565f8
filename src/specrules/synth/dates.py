"""Dates and clocks: a row's dates in order, response-time ends within (or past) the
limit, gaps between dates, and keeping dates inside the contract."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from specrules.dsl import ir
from specrules.engine.common.calendar import working_day_calendar
from specrules.engine.pandas.expressions import shift_date
from specrules.periods import Period, periods_within
from specrules.spec.compiler import CompiledRule
from specrules.spec.models import TIMED_CLOCKS
from specrules.synth.common import (
    _GAP_UNITS,
    DATE_LAG_DAYS,
    DATETIME_LAG_HOURS,
    LATE_MISSING_SHARE,
)
from specrules.synth.values import _is_birth, _sample_number, _time_of_day


class DatesAndClocks:
    """Dates and clocks (part of `generator._Synth`)."""

    def _periods(self, kind: str) -> list[tuple[pd.Timestamp, pd.Timestamp, Period | None]]:
        contract = self.spec.contract
        if kind == "contract":
            return [(self.t0, self.t1, None)]
        outer = Period(contract.start, contract.end, "span", "all")
        found = []
        for period in periods_within(outer, kind, contract):
            first = max(self.t0, pd.Timestamp(period.start))
            last = min(self.t1, pd.Timestamp(period.end))
            if first <= last:
                found.append((first, last, period))
        return found

    def _date_chain(self, name: str, columns: dict[str, Any], n: int) -> None:
        """Dates of a row in the order declared: later fields after earlier ones."""
        rng = self.rng
        fields = self.fields[name]
        dated = [
            f
            for f, s in fields.items()
            if s.type in ("date", "datetime")
            and not _is_birth(f)
            and f not in self.spec.datasets[name].key_fields
        ]
        anchor = self.anchor[name]
        if not dated:
            return
        if anchor not in columns:
            anchor = dated[0]
            columns[anchor] = self._fresh(name, anchor, n)
        at = dated.index(anchor) if anchor in dated else 0

        def lag(field_name: str) -> np.ndarray:
            if fields[field_name].type == "datetime":
                hours = rng.exponential(DATETIME_LAG_HOURS, n)
                return pd.to_timedelta(np.round(hours * 60), unit="min").to_numpy()
            return pd.to_timedelta(np.ceil(rng.exponential(DATE_LAG_DAYS, n)), unit="D").to_numpy()

        previous = np.asarray(columns[anchor], dtype="datetime64[ns]")
        for field_name in dated[at + 1 :]:
            previous = previous + lag(field_name)
            columns[field_name] = previous
        following = np.asarray(columns[anchor], dtype="datetime64[ns]")
        for field_name in reversed(dated[:at]):
            following = following - lag(field_name)
            columns[field_name] = following
        for field_name, spec in fields.items():
            if _is_birth(field_name) and spec.type in ("date", "datetime"):
                base = np.asarray(columns[anchor], dtype="datetime64[ns]")
                years = rng.integers(18 * 365, 90 * 365, n)
                columns[field_name] = base - pd.to_timedelta(years, unit="D").to_numpy()

    def _sample_date(self, kind: str, op: str, bound) -> np.ndarray:
        rng = self.rng
        if isinstance(bound, tuple):
            first = pd.to_datetime(bound[0]).to_numpy("datetime64[ns]")
            last = pd.to_datetime(bound[1]).to_numpy("datetime64[ns]")
            span = (last - first).astype("timedelta64[ns]").astype(float)
            return first + (rng.random(len(first)) * span).astype("timedelta64[ns]")
        b = pd.to_datetime(bound)
        n = len(b)
        if kind == "date":
            floor, ceil = b.dt.floor("D"), b.dt.ceil("D")
            steps = pd.to_timedelta(rng.integers(0, 29, n), unit="D")
            strict = pd.to_timedelta(rng.integers(1, 29, n), unit="D")
            pick = {
                ">=": ceil + steps,
                ">": floor + strict,
                "<=": floor - steps,
                "<": ceil - strict,
                "=": floor,
                "!=": floor + strict,
            }[op]
            if op == "=" and (b != floor).any():  # a date cannot equal a time of day
                pick = floor
            return pick.to_numpy("datetime64[ns]")
        minutes = pd.to_timedelta(rng.integers(0, 3 * 24 * 60, n), unit="min")
        strict = pd.to_timedelta(rng.integers(1, 3 * 24 * 60, n), unit="min")
        pick = {
            ">=": b + minutes,
            ">": b + strict,
            "<=": b - minutes,
            "<": b - strict,
            "=": b,
            "!=": b + strict,
        }[op]
        return pick.to_numpy("datetime64[ns]")

    def _solve_clock(self, dataset: str, call: ir.Call, op: str, bound, rows) -> bool:
        """`hour(start_at) >= 8`, `weekday(day) <= 5`: move the time of day, or the day."""
        column = self._settable(dataset, call.args[0])
        if column is None or isinstance(bound, tuple):
            return False
        b = bound.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        current = pd.to_datetime(self.frames[dataset][column])
        day = current.dt.normalize()
        if call.name == "hour":
            if self.fields[dataset][column].type != "datetime":
                return False
            hours = _sample_number(self.rng, op, b, 0.0, 23.9, False)
            minutes = np.clip(np.round(hours * 12) * 5, 0, 24 * 60 - 5)  # five-minute steps
            if op in (">", "<"):  # rounding must not land on the bound itself
                minutes = np.where(minutes / 60 == b, minutes + (5 if op == ">" else -5), minutes)
            values = day + pd.to_timedelta(minutes, unit="min")
        else:
            wanted = _sample_number(self.rng, op, b, 1.0, 7.0, True)
            weekday = current.dt.day_of_week.to_numpy(dtype=float, na_value=np.nan) + 1
            values = current + pd.to_timedelta(np.nan_to_num(wanted - weekday), unit="D")
        rows = rows & current.notna().to_numpy(dtype=bool)
        self._set(dataset, column, rows, values)
        return True

    def _solve_gap(self, dataset: str, call: ir.Call, op: str, bound, rows: np.ndarray) -> bool:
        """`days_between(a, b) <= 14` and friends: place b after a (or a before b)."""
        first, second = call.args
        return self._place_gap(dataset, first, second, call.name, op, bound, rows)

    def _place_gap(
        self, dataset: str, first: ir.Node, second: ir.Node, name: str, op: str, bound, rows
    ) -> bool:
        """Place `second` after `first` (or `first` before `second`) so that the gap, counted
        as the function `name` counts it, meets `op bound`; never before the other event."""
        settable_second = self._settable(dataset, second)
        settable_first = self._settable(dataset, first)
        if settable_second is None and settable_first is None:
            return False
        integer = name not in _GAP_UNITS
        if isinstance(bound, tuple):
            low = bound[0].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            high = bound[1].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            gap = _sample_number(self.rng, "between", low, 0.0, None, integer, high)
        else:
            b = bound.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            gap = _sample_number(self.rng, op, b, 0.0, None, integer)
        gap = np.nan_to_num(gap)
        sign = 1 if settable_second is not None else -1
        column = settable_second if settable_second is not None else settable_first
        base = pd.to_datetime(self._eval(dataset, first if sign == 1 else second))
        rows = rows & base.notna().to_numpy(dtype=bool)
        if not rows.any():
            return True
        origin = base.to_numpy("datetime64[ns]")
        if name == "working_days_between":
            days = origin.astype("datetime64[D]")
            safe = np.where(np.isnat(days), np.datetime64("2000-01-03"), days)
            # counted as the engine counts: working days after the first date up to and
            # including the second, so a start on a holiday rolls back, not forward
            steps = (sign * gap).astype(int)
            moved = np.busday_offset(safe, steps, roll="backward", busdaycal=working_day_calendar())
            values = np.where(steps == 0, safe, moved).astype("datetime64[ns]")
        elif name == "age_at":
            # mid-way through the year of age, so whole years come out exact
            years = gap + 0.05 + 0.9 * self.rng.random(len(gap))
            delta = pd.to_timedelta(np.round(years * 365.25), unit="D").to_numpy()
            values = origin + sign * delta
        else:
            unit = _GAP_UNITS.get(name, "D")
            values = origin + sign * pd.to_timedelta(gap, unit=unit).to_numpy()
        if name not in _GAP_UNITS and self.fields[dataset][column].type == "datetime":
            # whole days apart: a time of day that keeps the later event after the earlier
            since_midnight = origin - origin.astype("datetime64[D]").astype("datetime64[ns]")
            left = np.timedelta64(24 * 60 - 1, "m") - since_midnight
            u = self.rng.random(len(origin))
            at = since_midnight + (left * u if sign == 1 else -since_midnight * u)
            day = values.astype("datetime64[D]").astype("datetime64[ns]")
            values = day + at.astype("timedelta64[m]").astype("timedelta64[ns]")
        self._set(dataset, column, rows, values)
        return True

    def _solve_change(self, dataset: str, call: ir.Call, op: str, bound, rows) -> bool:
        """`pct_change(before, after) <= -5%`: set after = before × (1 + change)."""
        before, after = call.args
        column = self._settable(dataset, after) or self._settable(dataset, before)
        if column is None or isinstance(bound, tuple):
            return False
        b = bound.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        change = _sample_number(self.rng, op, b, -0.5, 0.5, False)
        if self._settable(dataset, after) == column:
            other = self._eval(dataset, before).astype("Float64").to_numpy(float, na_value=np.nan)
            values = other * (1 + change)
        else:
            other = self._eval(dataset, after).astype("Float64").to_numpy(float, na_value=np.nan)
            values = other / (1 + change)
        rows = rows & np.isfinite(values) & (other != 0)
        self._set(dataset, column, rows, values)
        return True

    def _response_time(self, rule: CompiledRule) -> None:
        """End events after the start: mostly within the limit, late for the breaching rows."""
        model = rule.model
        dataset = model.dataset
        exprs = rule.expressions
        if not {"start", "end", "limit"} <= set(exprs):
            return
        end_node = self._expand(dataset, exprs["end"])
        column = self._settable(dataset, end_node)
        aggregate = self._child_aggregate(end_node) if column is None else None
        if column is None and aggregate is None:
            return  # the end is computed some other way (or a parent's): leave it as it comes
        end_type = (end_node.args[0] if aggregate else end_node).type
        rng = self.rng
        considered = self._mask(dataset, exprs.get("applies_to"))
        start = pd.to_datetime(self._eval(dataset, exprs["start"]))
        limit_node = exprs["limit"]
        limit = self._eval(dataset, limit_node)
        kind = limit_node.type.duration_kind if limit_node.type else "time"
        # the deadline exactly as engine.pandas.rule_rows computes it
        if model.clock in TIMED_CLOCKS:
            deadline = start + limit if kind == "time" else shift_date(start, limit, kind, 1)
        else:
            day = start.dt.normalize()
            deadline = day + limit if kind == "time" else shift_date(day, limit, kind, 1)
            deadline = deadline.dt.normalize() if kind != "time" else deadline
        deadline = pd.to_datetime(deadline)
        rows = considered & start.notna().to_numpy(dtype=bool) & deadline.notna().to_numpy(bool)
        n = len(rows)
        late = rows & (rng.random(n) < self.breach)
        on_time = rows & ~late
        span = (deadline - start).clip(lower=pd.Timedelta(0))
        within = start + span * rng.beta(2.0, 3.0, n)
        if model.clock in TIMED_CLOCKS:
            over = (deadline - start) * rng.uniform(0.1, 1.0, n) + pd.Timedelta(minutes=1)
        else:
            over = pd.to_timedelta(1 + rng.geometric(0.25, n), unit="D")
        values = within.where(on_time, deadline + over)
        if end_type is not None and end_type.kind == "datetime" and model.clock not in TIMED_CLOCKS:
            # a time of day on the end date, never before the start on the same day
            days = values.dt.normalize() + pd.to_timedelta(_time_of_day(rng, n))
            values = days.where(days >= start, values)
        overflow = (values > self.t_last).fillna(False).to_numpy(dtype=bool)
        values = values.where(~overflow, self.t_last)
        # some clocks never stop; a late one after the contract has ended, too
        never = late & ((rng.random(n) < LATE_MISSING_SHARE) | overflow)
        if column is not None:
            if not self.fields[dataset][column].nullable:
                never[:] = False
            self._move_dates(dataset, column, rows & ~never, values)
            self._blank(dataset, column, never)
        elif aggregate is not None:
            self._child_end(aggregate, rows, values, never)

    def _child_end(
        self, call: ir.Call, rows: np.ndarray, values: pd.Series, never: np.ndarray
    ) -> None:
        """Place a parent row's end event on its children: one child at the end date (and
        passing the aggregate's `where`), the others after it (before it, for `max`)."""
        child = call.over or ""
        column = self._settable(child, call.args[0]) or ""
        positions = self._positions(child, call.correlated_link or "")
        linked = positions >= 0
        parent_row = np.where(linked, positions, 0)
        if call.where is None:
            never = np.zeros(len(rows), dtype=bool)  # no way to stop the clock: just late
        targeted = linked & (rows & ~never)[parent_row]
        chosen = np.flatnonzero(targeted)
        _, first_at = np.unique(positions[chosen], return_index=True)
        first = np.zeros(len(positions), dtype=bool)
        first[chosen[first_at]] = True
        target = values.to_numpy("datetime64[ns]")[parent_row]
        lag = pd.to_timedelta(self.rng.integers(0, 29, len(positions)), unit="D").to_numpy()
        others = target + lag if call.name == "min" else target - lag
        self._move_dates(child, column, targeted, np.where(first, target, others))
        if call.where is not None:
            self.satisfy(child, call.where, first, True)
            self.satisfy(child, call.where, linked & never[parent_row], False)

    def _move_dates(self, dataset: str, column: str, rows: np.ndarray, values: Any) -> None:
        """Set a date, moving the row's later dates (declared after it) by as much, so the
        gaps between them, which other rules may rely on, are kept."""
        before = self.frames[dataset][column].to_numpy("datetime64[ns]").copy()
        self._set(dataset, column, rows, values)
        delta = self.frames[dataset][column].to_numpy("datetime64[ns]") - before
        moved = rows & ~np.isnat(delta)
        fields = list(self.fields[dataset])
        keys = self.spec.datasets[dataset].key_fields
        for later in fields[fields.index(column) + 1 :]:
            spec = self.fields[dataset][later]
            if (
                spec.type in ("date", "datetime")
                and later not in keys
                and later != self.anchor[dataset]
                and not _is_birth(later)
            ):
                current = self.frames[dataset][later].to_numpy("datetime64[ns]")
                self._set(dataset, later, moved & ~np.isnat(current), current + delta)

    def _across_clock_changes(self) -> None:
        """Rows that start in the small hours of the days the clocks change, so elapsed times
        across a change are in the data. Only for a spec (or dataset) that names its time
        zone: a spec that says nothing keeps times of day as they come."""
        named = "timezone" in self.spec.model_fields_set
        rng = self.rng
        for name, ds in self.spec.datasets.items():
            zone = ds.timezone or (self.spec.timezone if named else None)
            anchor = self.anchor[name]
            if zone is None or anchor is None or self.fields[name][anchor].type != "datetime":
                continue
            days = _clock_change_days(self.t0, self.t1, zone)
            n = len(self.frames[name])
            if not len(days) or n < 2 * len(days):
                continue
            per_day = max(1, n // 250)
            chosen = rng.choice(n, size=per_day * len(days), replace=False)
            # from 23:05 the evening before to 00:55: a clock of hours runs across the change
            minutes = pd.to_timedelta(-55 + 5 * rng.integers(0, 23, len(chosen)), unit="min")
            starts = np.repeat(days.to_numpy("datetime64[ns]"), per_day) + minutes.to_numpy()
            rows = np.zeros(n, dtype=bool)
            rows[chosen] = True
            values = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
            values[chosen] = starts
            self._move_dates(name, anchor, rows, values)

    def _clip_dates(self) -> None:
        """Dates inside the contract: the date that places a row in a period within its
        start and end, the others possibly in the extension years. A row with a date
        outside has all its dates moved by whole weeks together, keeping the gaps between
        them, the weekday and the time of day that rules may check; what still falls
        outside is clipped."""
        week = np.timedelta64(7, "D").astype("timedelta64[ns]")
        end = self.t1 + pd.Timedelta(hours=23, minutes=59)
        for name, frame in self.frames.items():
            dated = [
                f
                for f, spec in self.fields[name].items()
                if spec.type in ("date", "datetime") and not _is_birth(f)
            ]
            if not dated:
                continue
            limits = {f: end if f == self.anchor[name] else self.t_last for f in dated}
            values = {f: frame[f].to_numpy("datetime64[ns]") for f in dated}
            zero = np.zeros(len(frame), dtype="timedelta64[ns]")
            late, early = zero.copy(), zero.copy()
            # a row only snapshots read may start before the contract (already waiting)
            first = None if self._placed_by_snapshots_only(name) else self.t0
            for f in dated:
                over = values[f] - limits[f].to_datetime64()
                under = zero if first is None else first.to_datetime64() - values[f]
                late = np.maximum(late, np.where(np.isnat(over), zero, over))
                early = np.maximum(early, np.where(np.isnat(under), zero, under))
            weeks = np.ceil(late / week) - np.ceil(early / week)
            if self.layout.primary.get(name) is not None:
                # a child row is not moved back: whole weeks earlier could put it before its
                # parent (a contact before the referral); past the end it is clipped instead
                weeks = np.minimum(weeks, 0)
            moved = weeks != 0
            for f in dated:
                shifted = values[f] - weeks.astype(np.int64) * week
                self._set(name, f, moved & ~np.isnat(values[f]), shifted)
                last = limits[f]
                frame[f] = self.frames[name][f].clip(first, last)
                self._changed(name, f)


def _clock_change_days(first: pd.Timestamp, last: pd.Timestamp, zone: str) -> pd.DatetimeIndex:
    """The days from `first` to `last` on which the clocks of `zone` change."""
    noons = pd.date_range(first.normalize(), last.normalize(), freq="D") + pd.Timedelta(hours=12)
    offsets = noons - noons.tz_localize(zone).tz_convert("UTC").tz_localize(None)
    changed = np.flatnonzero(offsets[1:] != offsets[:-1]) + 1
    return noons[changed].normalize()
