"""The spec's datasets as CREATE TABLE statements, for the SQL of `specrules sql` to read.

Types follow the declared fields as the engines hold them: numbers (integers too) are
double precision, since the rules compute with numbers as DOUBLE (so `7 / 2` is 3.5 in
every dialect); dates are timestamps at midnight, as datetimes are. A dataset's key is its
primary key (not enforced where the dialect cannot: BigQuery; Spark has no keys).
"""

from __future__ import annotations

from sqlglot import exp

from specrules.spec.models import Spec

# field type → column type, per dialect
TYPES: dict[str, dict[str, str]] = {
    "duckdb": {
        "text": "VARCHAR",
        "number": "DOUBLE",
        "boolean": "BOOLEAN",
        "date": "TIMESTAMP",
    },
    "postgres": {
        "text": "TEXT",
        "number": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        "date": "TIMESTAMP",
    },
    "spark": {"text": "STRING", "number": "DOUBLE", "boolean": "BOOLEAN", "date": "TIMESTAMP"},
    "bigquery": {"text": "STRING", "number": "FLOAT64", "boolean": "BOOL", "date": "DATETIME"},
    # a key column must have a bounded length in SQL Server (900 bytes in an index)
    "tsql": {
        "text": "NVARCHAR(4000)",
        "key": "NVARCHAR(400)",
        "number": "FLOAT",
        "boolean": "BIT",
        "date": "DATETIME2",
    },
}
_KIND = {
    "text": "text",
    "enumeration": "text",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "date",
}


def _name(name: str, dialect: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect)


def column_type(field_type: str, dialect: str, key: bool = False) -> str:
    types = TYPES[dialect]
    kind = _KIND[field_type]
    return types.get("key", types[kind]) if key and kind == "text" else types[kind]


def create_tables(spec: Spec, dialect: str) -> str:
    """One CREATE TABLE per dataset, commented with its description, in `dialect`."""
    statements = []
    for name, dataset in spec.datasets.items():
        keys = dataset.key_fields
        lines = []
        for field in dataset.fields:
            field_type = dataset.field_spec(field).type
            line = f"  {_name(field, dialect)} {column_type(field_type, dialect, field in keys)}"
            if field in keys and dialect != "spark":
                line += " NOT NULL"
            lines.append(line)
        listed = ", ".join(_name(k, dialect) for k in keys)
        if dialect == "bigquery":
            lines.append(f"  PRIMARY KEY ({listed}) NOT ENFORCED")
        elif dialect != "spark":
            lines.append(f"  PRIMARY KEY ({listed})")
        about = " ".join((dataset.description or "").split())
        comment = f"-- {name}: {about}" if about else f"-- {name}"
        if dialect == "spark":
            comment += f"\n-- key: {listed}"
        body = ",\n".join(lines)
        statements.append(f"{comment}\nCREATE TABLE {_name(name, dialect)} (\n{body}\n);")
    return "\n\n".join(statements) + "\n"


__all__ = ["TYPES", "column_type", "create_tables"]
