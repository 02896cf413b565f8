"""Activity data in: read, check against the declared datasets, coerce, account for rows.

Every input row ends up either in a typed frame that rules evaluate, or in `rejected`
with its reason (a missing or duplicate key). Values that cannot be read as their declared
type (a date that is not a date, an enumeration value not in the list) become missing, and
each is reported as a `DataIssue` with the row and the raw value, so nothing disappears
silently and nothing wrong is counted as right.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from specrules.errors import DataError, did_you_mean
from specrules.memory import check_fits
from specrules.results import DataIssue
from specrules.spec import models

ROW = "__row__"  # 1-based position of the row in its input, kept for reports

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
# Markers of a missing number, date or true/false. Text and enumerations treat only an empty
# cell as missing: "none" or "NA" may be real answers there ("religion: none").
_MISSING_MARKERS = {"", "na", "n/a", "null", "none", "nan", "nat"}


@dataclass
class DatasetAccount:
    """How many rows a dataset had and what became of them."""

    read: int = 0
    evaluated: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


@dataclass
class LoadedData:
    frames: dict[str, pd.DataFrame]
    issues: list[DataIssue]
    rejected: dict[str, pd.DataFrame]
    accounts: dict[str, DatasetAccount]
    hashes: dict[str, str]
    missing: dict[str, str]  # dataset -> why it cannot be evaluated


DataInput = Mapping[str, pd.DataFrame] | str | Path | list[str | Path]


def issue(
    dataset: str,
    message: str,
    row: int | None = None,
    column: str | None = None,
    value: str | None = None,
    severity: str = "warning",
) -> DataIssue:
    return DataIssue(
        dataset=dataset, message=message, row=row, column=column, value=value, severity=severity
    )


# ------------------------------------------------------------------ reading files
def _read_file(path: Path, dataset: str) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            return frame.astype({c: "object" for c in frame.columns if frame[c].dtype == object})
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, ValueError, ImportError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {path}: {exc}", dataset=dataset) from None


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _frame_hash(frame: pd.DataFrame) -> str:
    """A digest of a frame's column names and values, column by column."""
    digest = hashlib.sha256()
    for name, column in frame.items():
        digest.update(str(name).encode() + b"\x00")
        digest.update(_column_bytes(column))
    return digest.hexdigest()


def _column_bytes(column: pd.Series) -> bytes | pa.Buffer:
    # A column serialised by Arrow is its values read at memory speed; pandas' hashing
    # goes one Python string at a time for text (0.6 s per million rows).
    try:
        values = pa.array(column.array)
        if isinstance(values, pa.ChunkedArray):  # one chunk, so chunking cannot matter
            values = values.combine_chunks()
        batch = pa.record_batch([values], names=["values"])
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        return sink.getvalue()
    except (pa.ArrowException, TypeError, ValueError):
        pass  # mixed Python objects: hashed by pandas below
    try:  # typed columns hashed as they are: converting to text first took 4x longer
        hashed = pd.util.hash_pandas_object(column, index=False)
    except TypeError:  # cells pandas cannot hash (lists, dicts): hash their text instead
        hashed = pd.util.hash_pandas_object(column.astype(str), index=False)
    return hashed.to_numpy().tobytes()


def _is_one_of(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Whether each value is one of `keys`, by hash lookup (missing values are not).

    `Series.isin` on Arrow-backed text builds a Python list of the keys (seconds per
    million rows); Arrow's own `is_in`, or a pandas index lookup, does not.
    """
    wanted = keys.dropna()
    try:
        found = pc.is_in(pa.array(values.array), value_set=pa.array(wanted.array))
        return found.fill_null(False).to_numpy(zero_copy_only=False)
    except (pa.ArrowException, TypeError, ValueError):
        return pd.Index(wanted.unique()).get_indexer(values) >= 0


_READABLE = (".csv", ".parquet", ".xlsx", ".xls")


def gather(
    spec: models.Spec, data: DataInput
) -> tuple[dict[str, pd.DataFrame], dict[str, str], list[DataIssue]]:
    """Raw frames by dataset name, their hashes, and notes on files that were not used."""
    issues: list[DataIssue] = []
    if isinstance(data, Mapping):
        frames = {}
        for name, frame in data.items():
            if name not in spec.datasets:
                issues.append(issue(str(name), "not a dataset of this spec; ignored"))
                continue
            if not isinstance(frame, pd.DataFrame):
                raise DataError("expected a pandas DataFrame", dataset=str(name))
            frames[name] = frame
        return frames, {n: _frame_hash(f) for n, f in frames.items()}, issues
    paths = [Path(p) for p in (data if isinstance(data, list) else [data])]
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file()))
        elif path.exists():
            files.append(path)
        else:
            raise DataError(f"no such file or folder: {path}")
    check_fits(
        [f for f in files if f.suffix in _READABLE and f.name.split(".")[0] in spec.datasets]
    )
    frames, hashes = {}, {}
    for path in files:
        if path.suffix not in _READABLE:
            continue
        if path.suffix in (".xlsx", ".xls"):  # sheets named after datasets: data_excel.py
            from specrules.data_excel import read_workbook

            sheets, notes = read_workbook(path, spec.datasets)
            issues.extend(notes)
            for name, frame in sheets.items():
                if name in frames:
                    raise DataError(f"two files for one dataset ({path.name})", dataset=name)
                frames[name], hashes[name] = frame, _file_hash(path)
            continue
        name = path.name.split(".")[0]
        if name not in spec.datasets:
            issues.append(issue(name, undeclared_file(path.name, list(spec.datasets))))
            continue
        if name in frames:
            raise DataError(f"two files for one dataset ({path.name})", dataset=name)
        frames[name] = _read_file(path, name)
        hashes[name] = _file_hash(path)
    return frames, hashes, issues


# ------------------------------------------------------------------ coercion
def _as_text(raw: pd.Series, kind: str) -> pd.Series:
    text = raw.astype("string").str.strip()
    if kind in ("text", "enumeration"):  # only an empty cell is missing: no lowered copy
        return text.mask(text.eq(""))
    return text.mask(text.str.lower().isin(_MISSING_MARKERS))


def _report(
    issues: list[DataIssue], name: str, column: str, rows: pd.Series, raw: pd.Series, why: str
) -> None:
    bad = rows[raw.index]
    for row, value in zip(bad.tolist(), raw.astype(str).tolist(), strict=True):
        issues.append(issue(name, why, int(row), column, value))


def _parse_enumeration(text: pd.Series, spec: models.FieldSpec) -> tuple[pd.Series, str]:
    allowed = {v.lower(): v for v in spec.values or ()}
    why = "not one of the allowed values: " + ", ".join(spec.values or ())
    # Each distinct value is looked up once: a column holds few distinct values, and
    # Series.map would go through a Python object per row.
    codes, distinct = pd.factorize(text)
    looked_up = pd.array(pd.Index(distinct).str.lower().map(allowed), dtype="string")
    return pd.Series(looked_up.take(codes, allow_fill=True), index=text.index), why


def _parse_boolean(text: pd.Series, spec: models.FieldSpec) -> tuple[pd.Series, str]:
    lowered = text.str.lower()
    values = pd.Series(pd.NA, index=text.index, dtype="boolean")
    values[lowered.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = True
    values[lowered.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = False
    return values, "not true or false (yes/no)"


def _parse_number(text: pd.Series, spec: models.FieldSpec) -> tuple[pd.Series, str]:
    cleaned = text.str.replace(",", "", regex=False).str.lstrip("£")
    return pd.to_numeric(cleaned, errors="coerce").astype("Float64"), "not a number"


def _parse_date(text: pd.Series, spec: models.FieldSpec) -> tuple[pd.Series, str]:
    values = pd.to_datetime(text, errors="coerce", format="ISO8601")
    retry = text.notna() & values.isna()
    if retry.any():  # UK style day/month/year, as exported by spreadsheets
        values[retry] = pd.to_datetime(text[retry], errors="coerce", dayfirst=True, format="mixed")
    # Only dates pandas can hold in nanoseconds (1677 to 2262); 0001-01-01 is "not a date".
    inside = (values >= pd.Timestamp.min) & (values <= pd.Timestamp.max)
    values = values.where(inside).astype("datetime64[ns]")
    if spec.type == "date":
        values = values.dt.normalize()
    return values, "not a date (write YYYY-MM-DD or DD/MM/YYYY)"


_PARSERS = {
    "enumeration": _parse_enumeration,
    "boolean": _parse_boolean,
    "integer": _parse_number,
    "number": _parse_number,
    "date": _parse_date,
    "datetime": _parse_date,
}


def _typed_already(raw: pd.Series, kind: str) -> pd.Series | None:
    """Columns from Parquet or DataFrames that already have the declared type."""
    if kind in ("date", "datetime") and pd.api.types.is_datetime64_any_dtype(raw):
        values = pd.to_datetime(raw)
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        values = values.astype("datetime64[ns]")
        return values.dt.normalize() if kind == "date" else values
    if kind == "boolean" and pd.api.types.is_bool_dtype(raw):
        return raw.astype("boolean")
    numeric = pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
    if kind in ("integer", "number") and numeric:
        return raw.astype("Float64")
    return None


def _coerce(
    name: str,
    column: str,
    spec: models.FieldSpec,
    raw: pd.Series,
    rows: pd.Series,
    issues: list[DataIssue],
) -> pd.Series:
    """One column in its declared type; unreadable values become missing and are reported."""
    values = _typed_already(raw, spec.type)
    if values is None:
        text = _as_text(raw, spec.type)
        if spec.type == "text":
            return text
        values, why = _PARSERS[spec.type](text, spec)
        bad = text.notna() & values.isna()
        if bad.any():
            _report(issues, name, column, rows, text[bad], why)
    if spec.type == "integer":
        fractional = (values.notna() & (values != values.round(0))).fillna(False)
        fractional = fractional.to_numpy(dtype=bool)
        if fractional.any():
            _report(issues, name, column, rows, raw[fractional], "not a whole number")
            values = values.mask(fractional)
    return values


def undeclared_file(file_name: str, datasets: list[str]) -> str:
    """Why a file in the data folder is not read, and which files the spec reads instead."""
    hint = did_you_mean(file_name.split(".")[0], datasets)
    files = ", ".join(f"{d}.csv" for d in datasets)
    return (
        f"file {file_name} is not a declared dataset; ignored ({hint or 'the spec reads ' + files})"
    )


def missing_columns(ds: models.Dataset, absent: list[str], found: list[str]) -> str:
    """Why a file without some of the declared columns cannot be read: the columns missing
    (with the likeliest misspelling found), every column expected and what the dataset is
    (a national spec's description names the national data set the columns come from)."""
    hints = [did_you_mean(f, found) for f in absent]
    detail = "; ".join(
        f"`{f}`" + (f" ({h})" if h else "") for f, h in zip(absent, hints, strict=True)
    )
    expected = ", ".join(ds.fields)
    about = f" — {ds.description.strip()}" if ds.description else ""
    return f"missing column(s): {detail}; the spec expects the columns {expected}{about}"


def _prepare(
    name: str, ds: models.Dataset, raw: pd.DataFrame, issues: list[DataIssue]
) -> tuple[pd.DataFrame | None, pd.DataFrame, DatasetAccount, str | None]:
    account = DatasetAccount(read=len(raw))
    raw = raw.reset_index(drop=True)
    rows = pd.Series(np.arange(1, len(raw) + 1), index=raw.index)
    columns = {str(c).strip(): c for c in raw.columns}
    absent = [f for f in ds.fields if f not in columns]
    if absent:
        why = missing_columns(ds, absent, list(columns))
        issues.append(issue(name, why, severity="error"))
        rejected = raw.assign(**{ROW: rows, "__reason__": why})
        account.rejected[why] = len(raw)
        return None, rejected, account, why
    extra = [c for c in columns if c not in ds.fields]
    if extra:
        issues.append(
            issue(
                name,
                "columns not declared in the spec, ignored: " + ", ".join(extra),
                severity="info",
            )
        )
    frame = pd.DataFrame(index=raw.index)
    for field_name in ds.fields:
        spec = ds.field_spec(field_name)
        frame[field_name] = _coerce(name, field_name, spec, raw[columns[field_name]], rows, issues)
        if not spec.nullable:
            empty = frame[field_name].isna()
            if empty.any():
                _report(
                    issues,
                    name,
                    field_name,
                    rows,
                    raw.loc[empty, columns[field_name]],
                    "missing, but the spec says it may not be",
                )
    frame[ROW] = rows
    keys = list(ds.key_fields)
    reasons = pd.Series(pd.NA, index=frame.index, dtype="string")
    no_key = frame[keys].isna().any(axis=1)
    reasons[no_key] = "missing key (" + ", ".join(keys) + ")"
    # one key column: a Series' duplicated() is faster than a one-column frame's
    key_values = frame[keys[0]] if len(keys) == 1 else frame[keys]
    duplicate = key_values.duplicated(keep="first") & ~no_key
    reasons[duplicate] = "duplicate key: an earlier row has the same " + ", ".join(keys)
    bad = reasons.notna().to_numpy(dtype=bool)
    rejected = raw[bad].assign(**{ROW: rows[bad], "__reason__": reasons[bad]})
    for why, count in reasons[bad].value_counts().items():
        account.rejected[str(why)] = int(count)
    kept = frame[~bad] if bad.any() else frame  # no copy of clean data
    account.evaluated = len(kept)
    return kept, rejected, account, None


def load_data(spec: models.Spec, data: DataInput) -> LoadedData:
    """Read and check every dataset the spec declares."""
    raw_frames, hashes, issues = gather(spec, data)
    frames: dict[str, pd.DataFrame] = {}
    rejected: dict[str, pd.DataFrame] = {}
    accounts: dict[str, DatasetAccount] = {}
    missing: dict[str, str] = {}
    for name, ds in spec.datasets.items():
        if name not in raw_frames:
            missing[name] = "no data supplied for this dataset"
            issues.append(issue(name, missing[name], severity="warning"))
            continue
        frame, bad_rows, account, why = _prepare(name, ds, raw_frames[name], issues)
        accounts[name] = account
        if len(bad_rows):
            rejected[name] = bad_rows
        if frame is None:
            missing[name] = why or "unusable"
            continue
        frames[name] = frame
    _check_links(spec, frames, issues)
    return LoadedData(frames, issues, rejected, accounts, hashes, missing)


def _check_links(
    spec: models.Spec, frames: dict[str, pd.DataFrame], issues: list[DataIssue]
) -> None:
    for name, ds in spec.datasets.items():
        if name not in frames:
            continue
        for link_name, link in ds.links.items():
            if link.dataset not in frames:
                continue
            parent = spec.datasets[link.dataset]
            keys = frames[link.dataset][parent.key_fields[0]]
            values = frames[name][link.field]
            orphan = values.notna().to_numpy(dtype=bool) & ~_is_one_of(values, keys)
            if orphan.any():
                for row, value in zip(frames[name].loc[orphan, ROW], values[orphan], strict=True):
                    issues.append(
                        issue(
                            name,
                            f"link `{link_name}`: no {link.dataset} row has this key",
                            int(row),
                            link.field,
                            str(value),
                        )
                    )
