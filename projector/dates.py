"""The one calendar: decimal years <-> ISO dates (method.md section 1).

Dependency direction: imports nothing from projector; every module that turns a date
into a decimal year or back uses these functions, so all of them agree to the bit.

A decimal year is ``year + (day_of_year - 1) / days_in_year``: 1 January is the whole
year, and a leap year's days are 1/366 year wide. A month of the monthly time grid is
``year + (month - 1) / 12`` (:func:`grid_month`), which is not a calendar date.
"""

from __future__ import annotations

import datetime as dt
import math

__all__ = ["date_of_decimal_year", "decimal_year", "grid_month", "iso_date"]


def _days_in_year(year: int) -> int:
    return (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days


def decimal_year(date: dt.date, /) -> float:
    """``year + (day_of_year - 1) / days_in_year`` [decimal year]."""
    start = dt.date(date.year, 1, 1)
    return date.year + (date - start).days / _days_in_year(date.year)


def date_of_decimal_year(year: float, /, *, nearest: bool = True) -> dt.date:
    """The date a decimal year falls on: the nearest day (default), or the day it is in
    (``nearest=False``: the fraction of the year rounded down to whole days)."""
    whole = math.floor(year)
    days = (year - whole) * _days_in_year(whole)
    return dt.date(whole, 1, 1) + dt.timedelta(days=round(days) if nearest else int(days))


def iso_date(year: float, /) -> str:
    """A decimal year as ``YYYY-MM-DD`` (the nearest day; for messages and summaries)."""
    return date_of_decimal_year(year).isoformat()


def grid_month(year: int, month: int, /) -> float:
    """The time of month ``month`` (1-12) of ``year`` on a monthly grid [decimal year]:
    ``year + (month - 1) / 12`` (how the 2022 study dates its crossings)."""
    return year + (month - 1) / 12
