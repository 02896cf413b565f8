"""Several evaluations side by side: one tidy frame with a `provider` column.

`compare({"Doncaster": evaluation1, "Rotherham": evaluation2})` stacks each evaluation's
`to_frame()` under its name. The names can be providers, localities or extracts of the
same provider for different periods: the column is called `provider` because that is the
common case, and it is an ordered categorical in the order given, so tables and charts keep
that order. Evaluations of different specs can be compared too; `spec_title` says which is
which.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from specrules.results import FRAME_COLUMNS, Evaluation


def compare(evaluations: Mapping[str, Evaluation]) -> pd.DataFrame:
    """One frame: `provider`, `spec_title`, then the columns of `Evaluation.to_frame()`."""
    if not isinstance(evaluations, Mapping):
        raise TypeError(
            "compare takes a mapping of name to Evaluation, e.g. "
            '{"Doncaster": evaluation1, "Rotherham": evaluation2}'
        )
    if not evaluations:
        raise ValueError("nothing to compare: give at least one named Evaluation")
    wrong = [str(n) for n, e in evaluations.items() if not isinstance(e, Evaluation)]
    if wrong:
        raise TypeError(
            f"not an Evaluation: {', '.join(wrong)} (evaluate data first with spec.evaluate, "
            "or use spec.evaluate_many with the data itself)"
        )
    names = [str(n) for n in evaluations]
    if len(set(names)) != len(names):
        raise ValueError("two evaluations have the same name once written as text")
    parts = []
    for name, evaluation in zip(names, evaluations.values(), strict=True):
        frame = evaluation.to_frame()
        frame.insert(0, "spec_title", pd.Series(evaluation.spec_title, index=frame.index))
        frame.insert(0, "provider", pd.Series(name, index=frame.index))
        parts.append(frame)
    result = pd.concat(parts, ignore_index=True)
    dtypes = parts[0].dtypes.to_dict()
    dtypes["provider"] = pd.CategoricalDtype(names, ordered=True)
    dtypes["spec_title"] = "string"
    return result.astype(dtypes)[["provider", "spec_title", *FRAME_COLUMNS]]
