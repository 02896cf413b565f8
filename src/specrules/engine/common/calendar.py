"""Working days: weekends and England and Wales bank holidays are not working days.

The `holidays` package keeps the UK's bank holidays (including one-off ones such as
coronations and jubilees) up to date, so we do not maintain a list of our own.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache

import holidays
import numpy as np
import pandas as pd

from specrules.dsl import ir
from specrules.dsl.types import SECONDS_IN


@cache
def bank_holidays(first_year: int = 2000, last_year: int = 2040) -> np.ndarray:
    """England and Wales bank holidays as a sorted datetime64[D] array."""
    england = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return np.array(sorted(england.keys()), dtype="datetime64[D]")


# The days every engine counts working days over (the SQL engines' calendar tables); a
# working-day count or step that reaches outside them is missing on every engine.
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


def in_calendar(days: np.ndarray) -> np.ndarray:
    """Which days (datetime64[D]) fall from FIRST_DAY to LAST_DAY."""
    return (days >= np.datetime64(FIRST_DAY)) & (days <= np.datetime64(LAST_DAY))


@cache
def working_day_calendar() -> np.busdaycalendar:
    return np.busdaycalendar(weekmask="1111100", holidays=bank_holidays())


def due_date(period_end: dt.date, deadline: ir.Duration) -> dt.date | dt.datetime:
    """When a consequence due `within <deadline>` of a breached period is due, counted from
    the end of the period's last day: a day (the last day it is in time), or for hours,
    minutes and seconds a moment. `within 20 working days` of a period ending on a Sunday
    is the 20th working day after it; `within 1 month` of 31 March is 30 April. Working days
    and months are whole (a fraction counts as the next whole one)."""
    amount, unit = float(deadline.amount), deadline.unit
    if unit in SECONDS_IN and unit not in ("days", "weeks"):
        midnight = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time())
        return midnight + dt.timedelta(seconds=amount * SECONDS_IN[unit])
    if unit in ("days", "weeks"):
        return period_end + dt.timedelta(days=math.ceil(amount * SECONDS_IN[unit] / 86400))
    whole = math.ceil(amount)
    if unit == "working days":
        # rolled back to a working day first, so a weekend end counts from the Friday before
        day = np.busday_offset(
            np.datetime64(period_end, "D"), whole, roll="backward", busdaycal=working_day_calendar()
        )
        return day.astype(dt.date)
    months = whole * (12 if unit == "years" else 1)
    return (pd.Timestamp(period_end) + pd.DateOffset(months=months)).date()
