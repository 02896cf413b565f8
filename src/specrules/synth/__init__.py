"""Synthetic activity data for any spec, derived only from what the spec declares.

`synthesize(spec, rows, seed, breach_rate)` returns one DataFrame per declared dataset;
`specrules synth` writes them as `<dataset>.csv` (or `.parquet`). Nothing here knows any
particular spec: every choice comes from the declared datasets and the compiled rules.

- **Shape**: datasets are generated parents first (topological order of `links`). The main
  dataset (the top of the largest family of linked datasets) gets `rows` rows; each child
  row belongs to an existing parent row (a few children per parent); datasets that stand
  alone (evidence items, indicators) get a few rows per period, enough for the count
  targets that are set on them.
- **Values** follow the declared types, with field-name hints (age, bmi, minutes, cost …)
  for plausible ranges and the literals that rules compare a field with (a text field
  compared with "GP" takes values like "GP"). Keys are unique; dates fall inside the
  contract, a child's after its parent's, a row's later dates after its earlier ones.
- **Rules shape the data** through the checked IR: a response time's end is placed after
  its start, mostly within the limit (evaluated per row with the engine's clock
  arithmetic); eligibility criteria, KPI numerators and continuous observations are
  *solved* for the columns they name (a boolean set, a number or date moved to the right
  side of a comparison, an enumeration value chosen), so rows pass or fail as intended;
  populations are made common enough to measure and exclusions rare.
- **`breach_rate`** is the share of rows made to fail each rule (late, failing a criterion,
  outside the KPI's target), and scales the share of missing values in nullable fields.

Everything is whole-column numpy/pandas work, drawn from one seeded `numpy` Generator, so a
seed always gives the same data.

Where each part lives (the generator is one class, `generator._Synth`, made of the parts):

- `generator`: the class, the order of the work (`run`) and `synthesize`.
- `layout`: which dataset is made first and which is the main one (parents before children).
- `rows`: how many rows each dataset gets and each row's skeleton (keys, parent, anchor date).
- `columns`: columns by type (booleans, enumerations, numbers, text, keys), writing values
  into rows, links between datasets and missing values.
- `values`: field-name hints (age, bmi, cost …) and the whole-column samplers.
- `dates`: dates and clocks: a row's dates in order, response-time ends within (or past)
  the limit, gaps between dates, dates kept inside the contract.
- `solver`: solving a condition for the columns it names, so rows pass or fail as intended.
- `shaping`: rules-driven shaping: KPI populations, numerators and counts, eligibility;
  dated thresholds read as the value in force for each row's period.
- `snapshots`: snapshot rules: each row shaped as at a period end of its own (its census)
  and taken off the list after it, a breach_rate share of period ends made to miss.
- `evaluation`: evaluating checked IR on the working frames, derived columns kept fresh.
- `writing`: writing the frames as CSV or Parquet files.
- `common`: constants, errors and small IR helpers shared by the parts.
"""

from specrules.synth.common import (
    DEFAULT_BREACH_RATE,
    DEFAULT_ROWS,
    Format,
    SynthError,
    SynthWarning,
)
from specrules.synth.generator import synthesize
from specrules.synth.writing import write

__all__ = [
    "DEFAULT_BREACH_RATE",
    "DEFAULT_ROWS",
    "Format",
    "SynthError",
    "SynthWarning",
    "synthesize",
    "write",
]
