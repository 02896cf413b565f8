"""specrules: health-service specifications as machine-checkable rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from specrules.errors import DataError, Diagnostic, PeriodError, SpecError  # noqa: E402
from specrules.lazy import lazy_attributes  # noqa: E402

if TYPE_CHECKING:
    from specrules.api import Spec, load, loads
    from specrules.comparison import compare
    from specrules.results import Evaluation, Verdict

# Imported on first use (PEP 562): the engine needs pandas, which takes most of a second to
# import, and `specrules validate` needs none of it.
_LAZY = {
    "Spec": "specrules.api",
    "load": "specrules.api",
    "loads": "specrules.api",
    "compare": "specrules.comparison",  # not `specrules.compare`: see lazy.py
    "Evaluation": "specrules.results",
    "Verdict": "specrules.results",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "DataError",
    "Diagnostic",
    "Evaluation",
    "PeriodError",
    "Spec",
    "SpecError",
    "Verdict",
    "__version__",
    "compare",
    "load",
    "loads",
]
