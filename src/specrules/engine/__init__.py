"""The engines: a compiled plan and data in, an Evaluation out. Three rooms, arrows one way
(`pandas` and `sql` use `common`; neither uses the other):

- `common/`: what every engine shares. `scope.py` (the datasets a rule reads and the periods
  it is judged in), `judging.py` (a figure turned into a verdict: threshold in force, status,
  named exclusions, the words for a late row), `calendar.py` (working days, due dates),
  `evaluation.py` (the Evaluation handed back, with its provenance).
- `pandas/`: the default engine, on DataFrames. `expressions.py` (checked IR → whole-column
  pandas operations), `aggregates.py`, `rule_rows.py` (each kind of rule classifies every
  row once), `evaluator.py` (loads the data, counts each period with masks, judges).
- `sql/`: engines that read the files themselves. `expressions.py` (checked IR → sqlglot
  trees), `rule_rows.py` (each rule's row classification as SQL), `files.py` (files typed and
  checked in SQL), `checks.py` (links to no row, dates outside the contract), `evaluator.py`
  (runs the plan on a connection), `on_duckdb.py` and `on_spark.py` (the connections), and
  the export: `verdict_table.py` (the verdict table as one query) and `create_tables.py`.
"""
