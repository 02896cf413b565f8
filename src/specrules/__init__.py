"""specrules: health-service specifications as machine-checkable rules."""

__version__ = "0.1.0"

from specrules.api import Spec, load, loads  # noqa: E402
from specrules.compare import compare  # noqa: E402
from specrules.errors import DataError, Diagnostic, PeriodError, SpecError  # noqa: E402
from specrules.results import Evaluation, Verdict  # noqa: E402

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
