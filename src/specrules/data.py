"""Activity data in: read, check against the declared datasets, coerce, account for rows.

Every input row ends up either in a typed frame that rules evaluate, or in `rejected`
with its reason (a missing or duplicate key). Values that cannot be read as their declared
type (a date that is not a date, an enumeration value not in the list) become missing, and
each is reported as a `DataIssue` with the row and the raw value, so nothing disappears
silently and nothing wrong is counted as right.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from specrules.data_keys import KeyIndex
from specrules.datetimes import (
    DAY_FIRST,
    EARLIEST,
    GROUPED_NUMBER,
    ISO_INSTANT,
    ISO_LOCAL,
    LARGEST_WHOLE,
    LATEST,
    NO_SUCH_TIME,
    NOT_A_DATE,
    NOT_A_DATETIME,
    OUTSIDE_YEARS,
    TOO_LARGE,
    TWICE,
    instant_column,
)
from specrules.errors import DataError, did_you_mean
from specrules.files import (
    NO_COLUMNS,
    ReadProgress,
    binary_column,
    file_hash,
    find_files,
    scan_csv,
    suffix,
)
from specrules.memory import check_fits
from specrules.results import DataIssue
from specrules.spec import models

ROW = "__row__"  # 1-based position of the row in its input, kept for reports

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
# Markers of a missing number, date or true/false. Text and enumerations treat only an empty
# cell as missing: "none" or "NA" may be real answers there ("religion: none"). `NaN` is a
# missing number and `NaT` a missing date (as pandas writes them), but in another column
# they are a sign of a mix-up, so they are reported there.
_MISSING_WORDS = frozenset({"", "na", "n/a", "null", "none"})
_MISSING_MARKERS = {
    "boolean": _MISSING_WORDS,
    "integer": _MISSING_WORDS | {"nan"},
    "number": _MISSING_WORDS | {"nan"},
    "date": _MISSING_WORDS | {"nat"},
    "datetime": _MISSING_WORDS | {"nat"},
}


def missing_markers(kind: str) -> frozenset[str]:
    """The texts read as a missing value in a column of type `kind` (lower case)."""
    return _MISSING_MARKERS.get(kind, frozenset({""}))


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
def _read_file(
    path: Path, dataset: str, issues: list[DataIssue], progress: ReadProgress | None
) -> tuple[pd.DataFrame, str]:
    """A file's values (a CSV's as text, read as specrules.files decides) and its SHA-256."""
    kind = suffix(path)
    try:
        if kind == ".csv":
            layout, table = scan_csv(path, dataset, keep=True, progress=progress)
            if layout.note():
                issues.append(issue(dataset, layout.note() or "", severity="info"))
            frame = table.to_pandas() if table is not None else pd.DataFrame()
            return frame, layout.sha256
        if kind == ".parquet":
            frame = pd.read_parquet(path)
            frame = frame.astype({c: "object" for c in frame.columns if frame[c].dtype == object})
    except (OSError, ValueError, ImportError, pa.ArrowException) as exc:
        raise DataError(f"cannot read {path}: {exc}", dataset=dataset) from None
    return frame, file_hash(path)


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


def gather(
    spec: models.Spec, data: DataInput, progress: ReadProgress | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, str], list[DataIssue]]:
    """Raw frames by dataset name, their hashes, and notes on files that were not used.

    DataFrames handed in are not digested here (their hashes are left out): `load_data`
    digests them in the background while it types them."""
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
        return frames, {}, issues
    found = find_files(data if isinstance(data, list) else [data], spec.datasets)
    issues.extend(
        issue(name, undeclared_file(file, list(spec.datasets))) for name, file in found.ignored
    )
    check_fits([*found.files.values(), *found.workbooks])
    frames, hashes = {}, {}
    for name, path in found.files.items():
        frames[name], hashes[name] = _read_file(path, name, issues, progress)
    for path in found.workbooks:  # sheets named after datasets: data_excel.py
        from specrules.data_excel import read_workbook

        sheets, notes = read_workbook(path, spec.datasets)
        issues.extend(notes)
        for name, frame in sheets.items():
            if name in frames:
                raise DataError(f"two files for one dataset ({path.name})", dataset=name)
            frames[name], hashes[name] = frame, file_hash(path)
    return frames, hashes, issues


# ------------------------------------------------------------------ coercion
def _as_text(raw: pd.Series, kind: str) -> pd.Series:
    text = _stripped(raw.astype("string"))
    if kind in ("text", "enumeration"):  # only an empty cell is missing: no lowered copy
        empty = text.eq("").fillna(False).to_numpy(dtype=bool)
        return text.mask(empty) if empty.any() else text
    return text.mask(text.str.lower().isin(missing_markers(kind)))


def _stripped(text: pd.Series) -> pd.Series:
    """Text without spaces around it; the column as it came when no value had any, so that
    the typed data does not hold a second copy of every text column."""
    stripped = text.str.strip()
    try:
        before, after = pa.array(text.array), pa.array(stripped.array)
    except (pa.ArrowException, TypeError, ValueError):
        return stripped
    length = [pc.sum(pc.binary_length(values)).as_py() for values in (before, after)]
    return text if length[0] == length[1] else stripped


Reasons = str | pd.Series  # one reason for every bad value, or one per row


def _report(
    issues: list[DataIssue], name: str, column: str, rows: pd.Series, raw: pd.Series, why: Reasons
) -> None:
    bad = rows[raw.index]
    whys = why[raw.index].tolist() if isinstance(why, pd.Series) else [why] * len(raw)
    for row, value, reason in zip(bad.tolist(), raw.astype(str).tolist(), whys, strict=True):
        issues.append(issue(name, reason, int(row), column, value))


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
    commas = text.str.contains(",", regex=False).fillna(False).to_numpy(dtype=bool)
    if commas.any():  # only commas between thousands: `9,5` is not 95
        grouped = text[commas].str.fullmatch(GROUPED_NUMBER).fillna(False).to_numpy(dtype=bool)
        misplaced = commas.copy()
        misplaced[commas] = ~grouped
        cleaned = cleaned.mask(misplaced)
    return pd.to_numeric(cleaned, errors="coerce").astype("Float64"), "not a number"


def _parse_date(text: pd.Series, spec: models.FieldSpec, zone: str) -> tuple[pd.Series, Reasons]:
    """Local date-times as written; instants (with an offset) as the local time in `zone`."""
    values, reasons, _ = _parse_when(text, spec, zone)
    return values, reasons


def _parse_when(
    text: pd.Series, spec: models.FieldSpec, zone: str
) -> tuple[pd.Series, Reasons, pd.Series | None]:
    """`_parse_date`, and for a datetime column each value's instant (UTC) as well.

    Each value is matched against the patterns it may still fit and parsed once (a value
    that is ISO local time is not tried as an instant or day/month/year), and each local
    time is placed in `zone` once: parsing the column a second time for its instants cost
    as much again as the first."""
    values = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    utc = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    known = text.notna().to_numpy(dtype=bool)
    local = known & _matches(text, ISO_LOCAL, known)
    instant = _matches(text, ISO_INSTANT, known & ~local)
    if local.any():
        values[local] = _in_range(pd.to_datetime(text[local], errors="coerce", format="ISO8601"))
    if instant.any():
        given = pd.to_datetime(text[instant], errors="coerce", format="ISO8601", utc=True)
        values[instant] = _in_range(given.dt.tz_convert(zone).dt.tz_localize(None))
        utc[instant] = given.dt.tz_localize(None)
    rest = known & ~local & ~instant
    for pattern, form, _ in DAY_FIRST:  # UK style day/month/year, as spreadsheets write it
        these = _matches(text, pattern, rest)
        if these.any():
            values[these] = _in_range(pd.to_datetime(text[these], errors="coerce", format=form))
    if spec.type == "date":
        return values.dt.normalize(), NOT_A_DATE, None
    values, reasons, placed = _local_times_that_exist(values, ~instant, zone)
    utc = utc.where(instant, placed)
    return values, reasons, utc.where(values.notna())


def _matches(text: pd.Series, pattern: str, where: np.ndarray) -> np.ndarray:
    """Which values in `where` match `pattern` in full (the others are not tried)."""
    found = np.zeros(len(text), dtype=bool)
    if where.any():
        tried = text[where].str.fullmatch(pattern)
        found[where] = tried.fillna(False).to_numpy(dtype=bool)
    return found


def instants(local: pd.Series, zone: str) -> pd.Series:
    """Local wall-clock times in `zone` as UTC instants (naive), so that differences are true
    elapsed time across a clock change. A time that happens twice is taken as the first; one
    that does not exist (only a computed one can be: the data's are reported) an hour on."""
    values = pd.to_datetime(local).astype("datetime64[ns]")
    first = np.ones(len(values), dtype=bool)
    placed = values.dt.tz_localize(zone, ambiguous=first, nonexistent=pd.Timedelta(hours=1))
    return placed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")


def _instants_of(raw: pd.Series, values: pd.Series, zone: str) -> pd.Series:
    """Each instant of a date-time column typed already (Parquet, a DataFrame): from its own
    time zone where it has one, else its local time's in `zone`. (Text is placed as it is
    parsed: `_parse_when`.)"""
    if getattr(raw.dt, "tz", None) is not None:
        known = raw.where(values.notna())  # an instant outside the years held is missing
        utc = known.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    else:
        utc = instants(values, zone)
    return utc.where(values.notna())


def _in_range(values: pd.Series) -> pd.Series:
    inside = (values >= pd.Timestamp(EARLIEST)) & (values < pd.Timestamp(LATEST))
    return values.where(inside).astype("datetime64[ns]")


def _local_times_that_exist(
    values: pd.Series, local: np.ndarray, zone: str
) -> tuple[pd.Series, Reasons, pd.Series]:
    """Local times (no offset) that do not exist or happen twice in `zone` become missing,
    each with its reason; an instant (with an offset) is never in doubt. Also each local
    time's instant (UTC, naive), from the same placing in the zone."""
    reasons = pd.Series(NOT_A_DATETIME, index=values.index, dtype="string")
    placed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    check = local & values.notna().to_numpy(dtype=bool)
    if not check.any():
        return values, NOT_A_DATETIME, placed
    chosen = values[check]
    in_zone = chosen.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    placed[check] = in_zone.dt.tz_convert("UTC").dt.tz_localize(None)
    gap = in_zone.isna()
    if not gap.any():
        return values, NOT_A_DATETIME, placed
    missing_hour = chosen.dt.tz_localize(
        zone, ambiguous=np.ones(len(chosen), dtype=bool), nonexistent="NaT"
    ).isna()
    nowhere = gap.index[missing_hour.to_numpy(dtype=bool)]
    twice = gap.index[(gap & ~missing_hour).to_numpy(dtype=bool)]
    reasons[nowhere] = NO_SUCH_TIME.format(zone=zone)
    reasons[twice] = TWICE.format(zone=zone)
    return values.mask(gap.reindex(values.index, fill_value=False)), reasons, placed


_PARSERS = {
    "enumeration": _parse_enumeration,
    "boolean": _parse_boolean,
    "integer": _parse_number,
    "number": _parse_number,
    "date": _parse_date,
    "datetime": _parse_date,
}


def _typed_already(raw: pd.Series, kind: str, zone: str) -> pd.Series | None:
    """Columns from Parquet or DataFrames that already have the declared type."""
    if kind in ("date", "datetime") and raw.dtype == object:
        raw = _calendar_days(raw)  # a Parquet date column comes as Python dates
    if kind in ("date", "datetime") and pd.api.types.is_datetime64_any_dtype(raw):
        values = pd.to_datetime(raw)
        if getattr(values.dt, "tz", None) is not None:  # an instant: its local time
            values = values.dt.tz_convert(zone).dt.tz_localize(None)
        values = _in_range(values)  # outside the years pandas holds: missing, and reported
        return values.dt.normalize() if kind == "date" else values
    if kind == "boolean" and pd.api.types.is_bool_dtype(raw):
        return raw.astype("boolean")
    numeric = pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
    if kind in ("integer", "number") and numeric:
        return raw.astype("Float64")
    return None


NOT_NULLABLE = "missing, but the spec says it may not be"


def _calendar_days(raw: pd.Series) -> pd.Series:
    """A column of Python dates (`datetime.date`) as date-times at midnight, in
    microseconds, so that a year pandas cannot hold in nanoseconds is still read (and then
    reported); any other column as it is."""
    first = raw.first_valid_index()
    value = None if first is None else raw[first]
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        return raw
    try:
        days = pa.array(raw.to_numpy(), type=pa.date32(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):  # not dates throughout: read as text
        return raw
    return pd.Series(days.cast(pa.timestamp("us")).to_pandas(), index=raw.index)


def _coerce(
    name: str,
    column: str,
    spec: models.FieldSpec,
    raw: pd.Series,
    rows: pd.Series,
    issues: list[DataIssue],
    zone: str,
) -> tuple[pd.Series, pd.Series | None]:
    """One column in its declared type; unreadable values become missing and are reported
    (in row order, as the SQL engines list them). A datetime column read from text comes
    with its instants (UTC), worked out as it is parsed; None otherwise."""
    first = len(issues)
    values, instants_found = _coerce_values(name, column, spec, raw, rows, issues, zone)
    issues[first:] = sorted(issues[first:], key=lambda found: found.row or 0)
    return values, instants_found


def _coerce_values(
    name: str,
    column: str,
    spec: models.FieldSpec,
    raw: pd.Series,
    rows: pd.Series,
    issues: list[DataIssue],
    zone: str,
) -> tuple[pd.Series, pd.Series | None]:
    if raw.dtype == object and isinstance(raw.get(raw.first_valid_index()), bytes):
        raise DataError(binary_column(column), dataset=name)
    values, utc = _typed_already(raw, spec.type, zone), None
    if values is None:
        text = _as_text(raw, spec.type)
        if spec.type == "text":
            return text, None
        if spec.type in ("date", "datetime"):
            values, why, utc = _parse_when(text, spec, zone)
        else:
            values, why = _PARSERS[spec.type](text, spec)
        bad = text.notna() & values.isna()
        if bad.any():
            _report(issues, name, column, rows, text[bad], why)
    elif spec.type in ("date", "datetime"):  # typed already: only its years can be wrong
        bad = raw.notna() & values.isna()
        if bad.any():
            _report(issues, name, column, rows, raw[bad], OUTSIDE_YEARS)
    if spec.type in ("integer", "number"):
        infinite = np.isinf(values.to_numpy(dtype="float64", na_value=0.0))
        if infinite.any():
            _report(issues, name, column, rows, raw[infinite], "not a number")
            values = values.mask(infinite)
    if spec.type == "integer":
        fractional = (values.notna() & (values != values.round(0))).fillna(False)
        fractional = fractional.to_numpy(dtype=bool)
        if fractional.any():
            _report(issues, name, column, rows, raw[fractional], "not a whole number")
            values = values.mask(fractional)
        huge = (values.abs() > LARGEST_WHOLE).fillna(False).to_numpy(dtype=bool)
        if huge.any():
            _report(issues, name, column, rows, raw[huge], TOO_LARGE)
            values = values.mask(huge)
    return values, utc


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


def undeclared_columns(name: str, ds: models.Dataset, columns: Iterable[str]) -> DataIssue | None:
    """An info note naming the file's columns the spec does not declare, if any."""
    extra = [c for c in columns if c not in ds.fields]
    if not extra:
        return None
    return issue(
        name, "columns not declared in the spec, ignored: " + ", ".join(extra), severity="info"
    )


class _Typing:
    """One dataset being typed, a column at a time: the typed columns and, by field, the data
    issues found (listed in the order of the declared fields whatever order they are typed)."""

    def __init__(self, name: str, ds: models.Dataset, raw: pd.DataFrame, zone: str) -> None:
        self.name, self.ds, self.zone = name, ds, zone
        self.raw = raw.reset_index(drop=True)
        self.rows = pd.Series(np.arange(1, len(raw) + 1), index=self.raw.index)
        self.columns = {str(c).strip(): c for c in self.raw.columns}
        self.typed: dict[str, pd.Series] = {}
        self.issues: dict[str, list[DataIssue]] = {}
        self.account = DatasetAccount(read=len(raw))

    def unusable(self, issues: list[DataIssue]) -> str | None:
        """Why no row can be read (no columns, or declared columns missing), else None; notes
        columns the spec does not declare."""
        absent = [f for f in self.ds.fields if f not in self.columns]
        why = None
        if not self.columns:
            why = NO_COLUMNS
        elif absent:
            why = missing_columns(self.ds, absent, list(self.columns))
        if why is not None:
            issues.append(issue(self.name, why, severity="error"))
            self.account.rejected[why] = len(self.raw)
            return why
        extra = undeclared_columns(self.name, self.ds, self.columns)
        if extra:
            issues.append(extra)
        return None

    def rejected_all(self, why: str) -> pd.DataFrame:
        return self.raw.assign(**{ROW: self.rows, "__reason__": why})

    def type_field(self, field_name: str) -> None:
        if field_name in self.typed:
            return
        spec = self.ds.field_spec(field_name)
        raw, found = self.raw[self.columns[field_name]], self.issues.setdefault(field_name, [])
        values, utc = _coerce(self.name, field_name, spec, raw, self.rows, found, self.zone)
        self.typed[field_name] = values
        if spec.type == "datetime":
            if utc is None:  # typed already (Parquet, a DataFrame): placed in the zone now
                utc = _instants_of(raw, values, self.zone)
            self.typed[instant_column(field_name)] = utc
        if not spec.nullable:
            empty = values.isna()
            if empty.any():
                shown = raw[empty].astype(object).where(raw[empty].notna(), "")
                _report(found, self.name, field_name, self.rows, shown, NOT_NULLABLE)

    def frame(self, issues: list[DataIssue]) -> pd.DataFrame:
        """Every declared field typed, in declared order, with each row's position; the data
        issues added to `issues` field by field."""
        frame = pd.DataFrame(index=self.raw.index)
        for field_name in self.ds.fields:
            self.type_field(field_name)
            issues.extend(self.issues[field_name])
            frame[field_name] = self.typed[field_name]
            if instant_column(field_name) in self.typed:
                frame[instant_column(field_name)] = self.typed[instant_column(field_name)]
        frame[ROW] = self.rows
        return frame


def _key_columns(spec: models.Spec, name: str) -> list[str]:
    """The fields `data_keys.KeyIndex` reads in a dataset: its key and its links."""
    ds = spec.datasets[name]
    links = [link.field for link in ds.links.values()]
    return [*ds.key_fields[:1], *links] if len(ds.key_fields) == 1 else links


def _without_bad_keys(
    ds: models.Dataset,
    raw: pd.DataFrame,
    frame: pd.DataFrame,
    account: DatasetAccount,
    repeated: np.ndarray | None,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The rows with a key of their own, the rows rejected for a missing or repeated key, and
    which rows those are.

    `repeated` marks keys an earlier row has (from `data_keys.KeyIndex`); None to find them
    here."""
    keys = list(ds.key_fields)
    no_key = np.zeros(len(frame), dtype=bool)
    for key in keys:
        no_key |= frame[key].isna().to_numpy(dtype=bool)
    if repeated is None:
        # one key column: a Series' duplicated() is faster than a one-column frame's
        key_values = frame[keys[0]] if len(keys) == 1 else frame[keys]
        repeated = key_values.duplicated(keep="first").to_numpy(dtype=bool)
    if not (no_key | repeated).any():  # the usual case: nothing to take out, nothing copied
        account.evaluated = len(frame)
        return frame, raw.iloc[0:0], no_key
    reasons = pd.Series(pd.NA, index=frame.index, dtype="string")
    reasons[no_key] = "missing key (" + ", ".join(keys) + ")"
    duplicate = repeated & ~no_key
    reasons[duplicate] = "duplicate key: an earlier row has the same " + ", ".join(keys)
    bad = no_key | duplicate
    rejected = raw[bad].assign(**{ROW: frame[ROW][bad], "__reason__": reasons[bad]})
    for why, count in reasons[bad].value_counts().items():
        account.rejected[str(why)] = int(count)
    kept = frame[~bad] if bad.any() else frame  # no copy of clean data
    account.evaluated = len(kept)
    return kept, rejected, bad


def _rejected_rows(
    name: str, ds: models.Dataset, frame: pd.DataFrame, bad_rows: pd.DataFrame
) -> list[DataIssue]:
    """Each row rejected for its key, as a data issue naming the row and its key's first
    field (its value as Python writes it; blank when missing), so no row leaves unnamed."""
    key = ds.key_fields[0]
    values = frame.loc[bad_rows.index, key]
    return [
        issue(name, str(why), int(row), key, "" if pd.isna(value) else str(value))
        for row, value, why in zip(
            bad_rows[ROW].tolist(), values.tolist(), bad_rows["__reason__"].tolist(), strict=True
        )
    ]


def load_data(
    spec: models.Spec, data: DataInput, progress: ReadProgress | None = None
) -> LoadedData:
    """Read and check every dataset the spec declares; `progress` is told of bytes read.

    Two jobs run beside the typing of the columns, on a second core where there is one
    (Arrow and hashlib let go of Python's lock while they work): the digest of DataFrames
    handed in, and the hash of the key and link columns (typed first, for it)."""
    raw_frames, hashes, issues = gather(spec, data, progress)
    rejected: dict[str, pd.DataFrame] = {}
    accounts: dict[str, DatasetAccount] = {}
    missing: dict[str, str] = {}
    notes: dict[str, list[DataIssue]] = {}  # each dataset's issues before its fields'
    usable: dict[str, _Typing] = {}
    for name, ds in spec.datasets.items():
        notes[name] = []
        if name not in raw_frames:
            missing[name] = "no data supplied for this dataset"
            notes[name].append(issue(name, missing[name], severity="warning"))
            continue
        typed = _Typing(name, ds, raw_frames[name], ds.timezone or spec.timezone)
        why = typed.unusable(notes[name])
        accounts[name] = typed.account
        if why is None:
            usable[name] = typed
        else:
            rejected[name] = typed.rejected_all(why)  # every row, with the reason
            missing[name] = why
    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = None
        if isinstance(data, Mapping):
            digests = pool.submit(lambda: {n: _frame_hash(f) for n, f in raw_frames.items()})
        for name, typed in usable.items():
            for field_name in _key_columns(spec, name):
                typed.type_field(field_name)
        # one hash of each key column finds repeated keys and links to no row alike
        columns = {name: dict(typed.typed) for name, typed in usable.items()}
        key_index = pool.submit(KeyIndex, spec, columns)
        whole: dict[str, pd.DataFrame] = {}
        for name in spec.datasets:
            issues.extend(notes[name])
            if name in usable:
                whole[name] = usable[name].frame(issues)
        index = key_index.result()
        if digests is not None:
            hashes = digests.result()
    frames: dict[str, pd.DataFrame] = {}
    kept_rows: dict[str, np.ndarray | None] = {}
    for name, frame in whole.items():
        kept, bad_rows, bad = _without_bad_keys(
            spec.datasets[name], usable[name].raw, frame, accounts[name], index.duplicate.get(name)
        )
        if len(bad_rows):
            rejected[name] = bad_rows
            issues.extend(_rejected_rows(name, spec.datasets[name], frame, bad_rows))
        frames[name] = kept
        kept_rows[name] = ~bad if bad.any() else None
    _check_links(spec, frames, issues, index, kept_rows)
    return LoadedData(frames, issues, rejected, accounts, hashes, missing)


def _check_links(
    spec: models.Spec,
    frames: dict[str, pd.DataFrame],
    issues: list[DataIssue],
    index: KeyIndex,
    kept_rows: dict[str, np.ndarray | None],
) -> None:
    """Each link value that no row of the linked dataset has as its key is a data issue."""
    for name, ds in spec.datasets.items():
        if name not in frames:
            continue
        for link_name, link in ds.links.items():
            if link.dataset not in frames:
                continue
            values = frames[name][link.field]
            found = index.orphan.get((name, link_name))
            if found is not None:  # worked out over every row read: the kept rows' part
                kept = kept_rows[name]
                orphan = found if kept is None else found[kept]
            else:
                parent = spec.datasets[link.dataset]
                keys = frames[link.dataset][parent.key_fields[0]]
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
