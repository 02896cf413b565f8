"""The types of the expression language, checked before any data is read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["boolean", "number", "text", "date", "datetime", "duration", "list", "dataset"]

# How a duration is counted: fixed lengths of time (hours, days, weeks), calendar months
# and years (whose length depends on the date), or working days (which skip weekends and
# England and Wales bank holidays).
DurationKind = Literal["time", "calendar", "working"]


@dataclass(frozen=True)
class Type:
    kind: Kind
    duration_kind: DurationKind | None = None
    element: Type | None = None  # for lists
    values: tuple[str, ...] | None = None  # allowed values of an enumeration (text)
    dataset: str | None = None  # for `dataset` (a whole table named in count(referrals))

    def __str__(self) -> str:
        if self.kind == "duration" and self.duration_kind == "working":
            return "duration (working days)"
        if self.kind == "duration" and self.duration_kind == "calendar":
            return "duration (months)"
        if self.kind == "list" and self.element is not None:
            return f"list of {self.element}"
        if self.values is not None:
            return "enumeration"
        return self.kind

    @property
    def is_temporal(self) -> bool:
        return self.kind in ("date", "datetime")


BOOLEAN = Type("boolean")
NUMBER = Type("number")
TEXT = Type("text")
DATE = Type("date")
DATETIME = Type("datetime")

DURATION_KIND_OF_UNIT: dict[str, DurationKind] = {
    "seconds": "time",
    "minutes": "time",
    "hours": "time",
    "days": "time",
    "weeks": "time",
    "months": "calendar",
    "years": "calendar",
    "working days": "working",
}


# Fixed lengths of time, in seconds. A figure that is a length of time (a continuous KPI's
# observation, a response time's elapsed time) is given in one of the first four.
SECONDS_IN: dict[str, int] = {
    "seconds": 1,
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 7 * 86400,
}
TIME_UNITS = ("seconds", "minutes", "hours", "days")


def duration(kind: DurationKind) -> Type:
    return Type("duration", duration_kind=kind)


def comparable(a: Type, b: Type) -> bool:
    """Whether values of the two types can be compared with = < > and between."""
    if a.is_temporal and b.is_temporal:
        return True
    if a.kind == "duration" and b.kind == "duration":
        return a.duration_kind == b.duration_kind
    return a.kind == b.kind


def unify(a: Type, b: Type) -> Type | None:
    """The common type of two branches (of if-then-else, coalesce, a list), or None."""
    if a.kind == b.kind and a.duration_kind == b.duration_kind:
        if a.values is not None and b.values is not None:
            return Type(a.kind, values=tuple(dict.fromkeys(a.values + b.values)))
        return Type(a.kind, a.duration_kind, a.element)
    if a.is_temporal and b.is_temporal:
        return DATETIME
    return None
