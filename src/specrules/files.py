"""Which files hold which dataset, and how a CSV file is read: decided once, for every engine.

The pandas, DuckDB and Spark engines each have a CSV reader, and on a broken file each did
something different (one refused a semicolon-separated file row by row while another read
it; one stopped at an unterminated quote while another evaluated). So the reading is decided
here, in Python, before any engine reads a byte, and every engine is told it explicitly:

- only regular files are read (a folder, a device such as /dev/zero or a pipe is refused);
- text is UTF-8 (a byte-order mark is allowed); anything else is refused, naming the line;
- the delimiter is the one of `, ; TAB |` that splits the header line into the most columns
  (a comma when none does), and is named in an info note when it is not a comma;
- the header gives the column names, stripped; a blank name is `(column N)`; a name given
  twice is refused (which of the two would the spec mean?);
- quotes are RFC 4180 (`"`, doubled inside a value); values may span lines; blank lines are
  not rows;
- every row must have one value per column: a file with a row that has more or fewer values
  than the header, or a quote that is never closed, is refused with the rows named, since
  no engine can tell which value belongs to which column;
- a 0-byte file is a dataset with no header: no rows, and no columns to evaluate.

The structure is checked with pyarrow's CSV reader (C++, whole blocks at a time), which the
pandas engine then uses as its reader too; the SQL engines check their count of rows against it.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.csv as pacsv

from specrules.errors import DataError

WORKBOOKS = (".xlsx", ".xls")
READABLE = (".csv", ".parquet", *WORKBOOKS)
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "`,`", ";": "`;`", "\t": "a tab", "|": "`|`"}
_BLOCK = 1 << 20
_PARSE_BLOCK = 16 << 20  # pyarrow's block: a value over several lines may not straddle two
MAX_LINE = _PARSE_BLOCK  # the longest row DuckDB is told to expect (its default is 2 MB)
_SHOWN = 5  # broken rows named in a message

NO_COLUMNS = "no columns: the file is empty (not even a header row)"
# (bytes done, bytes in all, file name) while files are read
ReadProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class CsvLayout:
    """How one CSV file is read, as every engine must read it."""

    delimiter: str
    columns: tuple[str, ...]  # the header's names as the engines are to call them
    rows: int  # records after the header (blank lines are not records)
    sha256: str
    mixed_line_endings: bool = False  # some lines end in CR LF, others in LF

    @property
    def empty(self) -> bool:
        """A 0-byte file: no header, so no columns."""
        return not self.columns

    def note(self) -> str | None:
        """What an info note should say about this reading, if anything."""
        if self.delimiter != ",":
            return (
                f"read with {_DELIMITER_NAMES[self.delimiter]} as the delimiter (from the header)"
            )
        return None


@dataclass
class FoundFiles:
    """The files of a data folder (or list) by dataset, and notes on those not used."""

    files: dict[str, Path] = field(default_factory=dict)
    workbooks: list[Path] = field(default_factory=list)  # sheets named after datasets
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (name, file name)


def suffix(path: Path) -> str:
    return path.suffix.lower()


def dataset_name(path: Path) -> str:
    return path.name.split(".")[0]


def _not_regular(path: Path) -> str | None:
    """Why `path` cannot be read as a data file, or None for a regular file."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a device, pipe or socket); give a CSV or Parquet file"
    return None


def find_files(
    paths: Iterable[str | Path], datasets: Iterable[str], suffixes: tuple[str, ...] = READABLE
) -> FoundFiles:
    """Each dataset's file among `paths` (files, or folders of files named after datasets).

    Refuses (DataError) a path that does not exist, a dataset file that is a folder or not a
    regular file, and two files for one dataset; files named after no dataset are listed in
    `ignored`, workbooks (whose sheets are named after datasets) in `workbooks`."""
    names = list(datasets)
    found = FoundFiles()
    for path in (Path(p) for p in paths):
        if not path.exists():
            raise DataError(f"no such file or folder: {path}")
        if path.is_dir():
            entries = sorted(path.iterdir())
        else:
            why = _not_regular(path)
            if why:
                raise DataError(f"{path} {why}")
            entries = [path]
        for entry in entries:
            if suffix(entry) not in suffixes:
                continue
            if entry.name.startswith("~$"):  # the lock file Excel keeps beside an open workbook
                found.ignored.append((dataset_name(entry), entry.name))
                continue
            why = _not_regular(entry)
            if suffix(entry) == ".xls" and dataset_name(entry) not in names:
                found.ignored.append((dataset_name(entry), entry.name))  # unreadable; not ours
                continue
            if suffix(entry) in WORKBOOKS:
                if why:
                    raise DataError(f"{entry} {why}")
                found.workbooks.append(entry)
                continue
            name = dataset_name(entry)
            if name not in names:
                found.ignored.append((name, entry.name))
                continue
            if why:
                raise DataError(f"{entry} {why}", dataset=name)
            if name in found.files:
                raise DataError(f"two files for one dataset ({entry.name})", dataset=name)
            found.files[name] = entry
    return found


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------ CSV
def _header_line(path: Path, dataset: str) -> str:
    with path.open("rb") as handle:
        head = handle.read(_BLOCK)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError(
            f"{path.name} is UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8)", dataset=dataset
        )
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if b"\r" in line:  # the lines end in CR alone: the "first line" is the whole file
        raise DataError(_carriage_returns(path.name), dataset=dataset)
    if line.startswith(codecs.BOM_UTF8):
        line = line[len(codecs.BOM_UTF8) :]
    if not line.strip():  # pyarrow would read no columns and every row as too long
        raise DataError(
            f"{path.name} line 1 is blank; the first line must name the columns: remove the "
            "blank line above them",
            dataset=dataset,
        )
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} line 1: byte {line[exc.start]:#04x} is not UTF-8 text; save the "
            "file as UTF-8 (in Excel: CSV UTF-8)",
            dataset=dataset,
        ) from None


def binary_column(column: str) -> str:
    """Why a column of bytes (a binary Parquet column) is refused, on every engine."""
    return (
        f"column `{column}` holds bytes (a binary column), not text or numbers: write it "
        "as a string column"
    )


def _carriage_returns(name: str, count: int | None = None) -> str:
    some = f" ({count} of them)" if count else ""
    return (
        f"{name} ends lines with a carriage return alone{some}, as old Mac files do, so no "
        "engine can tell its rows apart the same way; save it with Windows (CR LF) or Unix "
        "(LF) line endings (in Excel: CSV UTF-8)"
    )


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter, quotechar='"'), [])


def choose_delimiter(header: str) -> str:
    """The delimiter that splits the header into the most columns; a comma on a tie."""
    counts = {d: len(_split(header, d)) for d in DELIMITERS}
    best = max(counts.values())
    return next(d for d in DELIMITERS if counts[d] == best)


def column_names(header: str, delimiter: str, path: Path, dataset: str) -> tuple[str, ...]:
    names = [n.strip() or f"(column {i})" for i, n in enumerate(_split(header, delimiter), 1)]
    refuse_repeated_names(names, path.name, dataset)
    return tuple(names)


def refuse_repeated_names(names: list[str], where: str, dataset: str) -> None:
    """A header that names a column twice is refused: which of the two is meant is a guess.

    Blank names (a sheet's empty header cells) are not compared."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names, 1):
        if name and name in seen:
            raise DataError(
                f"{where}: the header names column `{name}` twice (columns {seen[name]} "
                f"and {position}); keep one, or rename the other",
                dataset=dataset,
            )
        seen[name] = position


class _Scanned(NamedTuple):
    sha256: str
    quotes: int  # `"` characters
    bare_returns: int  # carriage returns not followed by a line feed (old Mac line ends)
    crlf: int  # lines ending in CR LF
    lf: int  # line feeds, after a CR or not


def _scan_bytes(path: Path, done: Callable[[int], None]) -> _Scanned:
    """The file's digest and the counts of characters that decide how it is read, read
    once in blocks."""
    digest = hashlib.sha256()
    quotes = returns = crlf = lf = 0
    last = b""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
            quotes += block.count(b'"')
            lf += block.count(b"\n")
            if b"\r" in block:  # most files have none: no more passes over the block
                returns += block.count(b"\r")
                crlf += block.count(b"\r\n")
            crlf += last == b"\r" and block[:1] == b"\n"
            last = block[-1:]
            done(len(block))
    return _Scanned(digest.hexdigest(), quotes, returns - crlf, crlf, lf)


def _first_bad_byte(path: Path) -> tuple[int, int]:
    """(line, byte) of the first byte that is not UTF-8; only called once one was found."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return line + block[: exc.start].count(b"\n"), block[exc.start]
            line += block.count(b"\n")
    return line, 0


def _unclosed_quote_line(path: Path, delimiter: str) -> int | None:
    """The line where a quote that is never closed opens (only called when the file has an
    odd number of quotes), by Python's csv reader in strict mode."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quotechar='"', strict=True)
        started = 1
        try:
            for _ in reader:
                started = reader.line_num + 1
        except csv.Error:
            return started
    return None


class _Counting(io.RawIOBase):
    """A file read by pyarrow, telling how far it has got."""

    def __init__(self, path: Path, done: Callable[[int], None]):
        self.handle = path.open("rb")
        self.done = done

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = self.handle.readinto(buffer)
        self.done(count or 0)
        return count or 0

    def close(self) -> None:
        self.handle.close()
        super().close()


def scan_csv(
    path: Path, dataset: str, keep: bool = False, progress: ReadProgress | None = None
) -> tuple[CsvLayout, pa.Table | None]:
    """Decide how `path` is read and check every row has one value per column; with `keep`,
    also return its values (all text). DataError, naming the rows, when it cannot be read."""
    size = path.stat().st_size
    read = [0]

    def done(count: int) -> None:
        read[0] += count
        if progress is not None:
            progress(min(read[0], 2 * size), 2 * size, path.name)

    if size == 0:
        return CsvLayout(",", (), 0, hashlib.sha256().hexdigest()), None
    header = _header_line(path, dataset)
    delimiter = choose_delimiter(header)
    columns = column_names(header, delimiter, path, dataset)
    scanned = _scan_bytes(path, done)
    sha256, quotes = scanned.sha256, scanned.quotes
    if scanned.bare_returns and not quotes:  # no quoted value holds them: they end lines
        raise DataError(_carriage_returns(path.name, scanned.bare_returns), dataset=dataset)
    # An odd count of quotes may be a quote inside an unquoted value (`5" tall`), which every
    # engine reads as it is; only a quote that opens a value and never closes is refused.
    line = _unclosed_quote_line(path, delimiter) if quotes % 2 else None
    if line is not None:
        raise DataError(
            f'{path.name} line {line}: a quote (") is opened and never closed, so the rest of '
            'the file would be one value; close it, or double a quote inside a value ("")',
            dataset=dataset,
        )
    broken: list[tuple[int, int, str]] = []

    def on_broken(row: pacsv.InvalidRow) -> str:
        broken.append((row.number or 0, row.actual_columns, row.text))
        return "skip"

    source = _Counting(path, done)
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(
                use_threads=False, block_size=_PARSE_BLOCK, column_names=list(columns), skip_rows=1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=True,
                invalid_row_handler=on_broken,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns}, strings_can_be_null=False
            ),
        )
        batches = []
        rows = 0
        for batch in reader:
            rows += batch.num_rows
            if keep:
                batches.append(batch)
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "utf8" in str(exc) or "UTF-8" in str(exc):
            line, byte = _first_bad_byte(path)
            raise DataError(
                f"{path.name} line {line}: byte {byte:#04x} is not UTF-8 text; save the file "
                "as UTF-8 (in Excel: CSV UTF-8)",
                dataset=dataset,
            ) from None
        raise DataError(f"cannot read {path.name}: {exc}", dataset=dataset) from None
    finally:
        source.close()
    if broken:
        raise DataError(_broken_rows(path, columns, delimiter, broken), dataset=dataset)
    # Mixed line ends are told only where no quoted value can hold a line feed of its own
    # (Excel ends rows with CR LF and lines inside a cell with LF alone).
    mixed = not quotes and 0 < scanned.crlf < scanned.lf
    layout = CsvLayout(delimiter, columns, rows, sha256, mixed)
    if not keep:
        return layout, None
    schema = pa.schema([(c, pa.string()) for c in columns])
    return layout, pa.Table.from_batches(batches, schema=schema)


def _broken_rows(
    path: Path, columns: tuple[str, ...], delimiter: str, broken: list[tuple[int, int, str]]
) -> str:
    # pyarrow numbers records from the header's (1): the data row is one less
    shown = "; ".join(
        f"row {number - 1} has {actual} values" for number, actual, _ in broken[:_SHOWN]
    )
    more = f" (and {len(broken) - _SHOWN} more rows)" if len(broken) > _SHOWN else ""
    hint = ""
    extra = all(actual > len(columns) for _, actual, _ in broken)  # a trailing delimiter adds one
    if extra and all(text.rstrip("\r\n").endswith(delimiter) for _, _, text in broken):
        hint = (
            f"; the rows end with {_DELIMITER_NAMES[delimiter]}: remove it, or add one to "
            "the header"
        )
    return (
        f"{path.name}: every row needs one value per column, and the header has "
        f"{len(columns)}, read with {_DELIMITER_NAMES[delimiter]} as the delimiter: "
        f"{shown}{more}{hint}. No engine can tell which value belongs to which column, so the "
        "file is not read"
    )
