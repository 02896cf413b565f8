"""Working days: weekends and England and Wales bank holidays are not working days.

The `holidays` package keeps the UK's bank holidays (including one-off ones such as
coronations and jubilees) up to date, so we do not maintain a list of our own.
"""

from __future__ import annotations

from functools import cache

import holidays
import numpy as np


@cache
def bank_holidays(first_year: int = 2000, last_year: int = 2040) -> np.ndarray:
    """England and Wales bank holidays as a sorted datetime64[D] array."""
    england = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return np.array(sorted(england.keys()), dtype="datetime64[D]")


@cache
def working_day_calendar() -> np.busdaycalendar:
    return np.busdaycalendar(weekmask="1111100", holidays=bank_holidays())
