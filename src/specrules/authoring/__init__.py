"""Tools for people who write specs: lint, explain, worked examples, schema, a starting file.

Each command of the command line lives in `commands.py` and calls one module here:
`lint` (validate), `explain`, `spec_tests` (test), `schema`, `new`.
"""
