"""The words a verdict is given in: kept apart so that spec checks need not import pandas."""

from typing import Literal

Status = Literal["met", "not met", "monitoring", "no data", "not due"]
Rag = Literal["green", "amber", "red"]
