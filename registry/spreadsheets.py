"""Reading a table uploaded for an import: the users import (CSV) and the channel inventory (CSV or
XLSX) share these rules, so both say the same things about the same file.

A file is read in memory, never stored. Its first row names the columns (case, spaces, hyphens and
underscores do not matter); unknown columns are named back and ignored; rows are numbered as in a
spreadsheet (the header is row 1). Cells shown back go through :func:`echo`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from registry.errors import Conflict, Invalid

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
CELL_ECHO_MAX = 80
#: What an XLSX file may unpack to: its parts are compressed XML, and a small file can hold a lot.
XLSX_MAX_UNPACKED = 64 * 1024 * 1024
#: How far down and across a sheet is read. openpyxl pads each row to the sheet's claimed last column
#: and fills every missing row up to its claimed (or actual) last row; a few KB claiming A1:XFD1048576
#: would be 17 billion empty cells. An import names a dozen columns and takes 20,000 rows.
XLSX_MAX_COLUMNS = 64
XLSX_MAX_ROW = 5 * MAX_ROWS

_NOT_UTF8 = (
    "The file is not UTF-8 text. In Excel, choose File, Save as, 'CSV UTF-8 (Comma delimited)', and import that."
)


def echo(value: str) -> str:
    """A cell as it may be shown back: control characters replaced, long text shortened. (Pages escape it
    too; the command line prints it, where a control character could rewrite the terminal.)"""
    text = "".join("\N{REPLACEMENT CHARACTER}" if unicodedata.category(ch) == "Cc" else ch for ch in value)
    return text if len(text) <= CELL_ECHO_MAX else text[: CELL_ECHO_MAX - 1] + "…"


def column_key(header: str) -> str:
    return re.sub(r"[\s_\-]+", "_", header.strip().lstrip("\ufeff").lower()).strip("_")


def size_text(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB" if count >= 1024 * 1024 else f"{max(1, round(count / 1024))} KB"


def check_size(data: bytes, *, noun: str, limit: int = MAX_BYTES, rows: int = MAX_ROWS) -> None:
    """:class:`Invalid` (``file``) when ``data`` is over ``limit`` bytes (about ``rows`` rows) or empty."""
    if len(data) > limit:
        raise Invalid(
            {
                "file": f"The file is {size_text(len(data))}: the most one import takes is {size_text(limit)} "
                f"(about {rows:,} {noun}). Split it into smaller files."
            }
        )
    if not data.strip():
        raise Invalid({"file": "The file is empty."})


def decode(data: bytes, *, noun: str = "people", limit: int = MAX_BYTES, rows: int = MAX_ROWS) -> str:
    """The file's text, or :class:`Invalid` (``file``) saying why it cannot be read (see :func:`check_size`)."""
    check_size(data, noun=noun, limit=limit, rows=rows)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Invalid({"file": _NOT_UTF8 + " It is UTF-16 (Excel's 'Unicode text')."})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Invalid({"file": f"{_NOT_UTF8} Line {line} has a character that is not UTF-8."}) from None
    if "\x00" in text:
        raise Invalid({"file": "The file contains a NUL character: it is not a CSV text file."})
    return text


@dataclass(frozen=True)
class Layout:
    """The columns an import reads: each by its normalised header (see :func:`column_key`), with the
    other names accepted; which are required; how the file's rows are spoken of."""

    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    #: "email, name, roles, line manager email": the columns as the first row should name them.
    listing: str
    #: "people": what the rows are, for "more than 20,000 people".
    noun: str
    #: Said of a file with a header and no rows: "has nobody in it".
    empty: str

    def column_of(self, header: str) -> str | None:
        key = column_key(header)
        return next((column for column, aliases in self.columns.items() if key in aliases), None)


@dataclass
class TableRow:
    number: int
    cells: dict[str, str]
    problems: list[str] = field(default_factory=list)


@dataclass
class Table:
    """The rows of a file keyed by column, and what was wrong with the file itself."""

    rows: list[TableRow] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    ignored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _match_columns(header: Sequence[str], layout: Layout, table: Table) -> dict[int, str]:
    """Which column each header cell names; unknown ones are noted, duplicates and missing ones are problems."""
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    for index, cell in enumerate(header):
        if not cell.strip():
            continue
        column = layout.column_of(cell)
        if column is None:
            table.ignored.append(echo(cell.strip()))
        elif column in seen:
            table.problems.append(
                f"Row 1: the columns '{echo(seen[column])}' and '{echo(cell.strip())}' are the same column: keep one."
            )
        else:
            seen[column] = cell.strip()
            columns[index] = column
    for column in layout.required:
        if column not in seen:
            table.problems.append(
                f"Row 1: there is no {column.replace('_', ' ')} column. The first row must name the columns: "
                f"{layout.listing}."
            )
    table.present = set(seen)
    return columns


def rows_of(lines: Iterable[Sequence[str]], layout: Layout) -> Table:
    """The table of ``lines`` (the header first), each row's cells stripped; blank rows are skipped."""
    table = Table()
    lines = iter(lines)
    header = list(next(lines, []))
    columns = _match_columns(header, layout, table)
    if table.problems:
        return table
    for number, cells in enumerate(lines, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(table.rows) == MAX_ROWS:
            table.problems.append(
                f"The file has more than {MAX_ROWS:,} {layout.noun}: the most one import takes. Split it into "
                "smaller files."
            )
            table.rows = []
            return table
        row = TableRow(number, {column: "" for column in columns.values()})
        for index, cell in enumerate(cells):
            if index in columns:
                row.cells[columns[index]] = cell.strip()
            elif index >= len(header) and cell.strip():
                row.problems.append(f"has more cells than the first row names ('{echo(cell.strip())}').")
        table.rows.append(row)
    if not table.rows:
        table.problems.append(f"The file names its columns but {layout.empty}.")
    return table


def read_csv(text: str, layout: Layout) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        return rows_of(reader, layout)
    except csv.Error as exc:
        return Table(problems=[f"Line {reader.line_num}: the file is not valid CSV ({exc})."])


# --- what an import would do ---------------------------------------------------------------------


class Outcome(Protocol):
    """What a row will do: an enum member with words for the preview and for the report afterwards."""

    @property
    def label(self) -> str: ...

    @property
    def done(self) -> str: ...


class ReportRow(Protocol):
    number: int
    problems: list[str]

    @property
    def action(self) -> Outcome: ...


R = TypeVar("R", bound=ReportRow)


@dataclass
class Report(Generic[R]):
    """The whole file's outcome: the file's own problems, and each row's. An import's plan extends it
    with its rows' words (:meth:`row_name`, :meth:`row_details`) and its :meth:`summary`."""

    #: Said of ignored columns: "not email, name, roles or line manager email".
    ignored_what: ClassVar[str] = "not ones the import reads"

    digest: str
    problems: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    rows: list[R] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not any(row.problems for row in self.rows)

    def count(self, action: object) -> int:
        return sum(1 for row in self.rows if row.action is action)

    @property
    def problem_count(self) -> int:
        return len(self.problems) + sum(len(row.problems) for row in self.rows)

    def refused_summary(self) -> str:
        return (
            f"{self.problem_count} {'problem' if self.problem_count == 1 else 'problems'}: nothing was changed. "
            "Correct the file and import it again."
        )

    def summary(self) -> str:
        raise NotImplementedError

    def row_name(self, row: R) -> str:
        raise NotImplementedError

    def row_details(self, row: R) -> list[str]:
        raise NotImplementedError

    def lines(self, *, done: bool = False) -> list[str]:
        """The report as plain lines for the command line: the file's problems, then one line per row."""
        lines = [f"File: {problem}" for problem in self.problems]
        if self.ignored_columns:
            lines.append(f"Columns ignored ({self.ignored_what}): " + ", ".join(self.ignored_columns))
        for row in self.rows:
            said = row.action.done if done else row.action.label.lower()
            name = self.row_name(row)
            if row.problems:
                lines.append(f"Row {row.number} {name}: {said}:")
                lines.extend(f"  - {problem}" for problem in row.problems)
            else:
                details = "; ".join(self.row_details(row))
                lines.append(f"Row {row.number} {name}: {said}" + (f" ({details})" if details else ""))
        return lines


class Refused(Conflict):
    """The file has problems: nothing was imported (``plan`` says what each is)."""

    def __init__(self, checked: Report[Any]) -> None:
        super().__init__(checked.summary())
        self.plan = checked


# --- XLSX -------------------------------------------------------------------------------------

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SAVE_AS = "In Excel, choose File, Save as, 'Excel Workbook (.xlsx)' or 'CSV UTF-8 (Comma delimited)', and import that."


def is_workbook(data: bytes) -> bool:
    """Whether ``data`` is a spreadsheet file (an Office zip or an old binary one) rather than text."""
    return data.startswith((_ZIP, _OLE))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return (value.date() if value.time() == dt.time() else value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bounded(rows: Iterable[Sequence[object]]) -> Iterable[list[str]]:
    """The sheet's rows as text, to :data:`XLSX_MAX_ROW`; :class:`Invalid` when the sheet goes further
    (``rows`` stops at the row after it, which it gives only when the sheet has a row there or beyond)."""
    for number, row in enumerate(rows, start=1):
        if number > XLSX_MAX_ROW:
            raise Invalid(
                {
                    "file": f"The sheet goes past row {XLSX_MAX_ROW:,}, the last an import reads (rows that are "
                    "only formatted count too): delete the rows below the accounts, or split the file."
                }
            )
        yield [_cell_text(value) for value in row]


def read_xlsx(data: bytes, layout: Layout) -> Table:
    """The first sheet of an Excel workbook, or :class:`Invalid` (``file``) when it is not one we read:
    old ``.xls`` files, workbooks with macros, and anything else that is not a plain ``.xlsx``."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    check_size(data, noun=layout.noun)
    if data.startswith(_OLE):
        raise Invalid({"file": "The file is an old Excel 97-2003 workbook (.xls), which is not read here. " + _SAVE_AS})
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError):
        raise Invalid({"file": "The file is not a readable Excel workbook. " + _SAVE_AS}) from None
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise Invalid(
            {
                "file": "The workbook contains macros (an .xlsm file), which are never opened here. In Excel, "
                "choose File, Save as, 'Excel Workbook (.xlsx)', and import that."
            }
        )
    if "xl/workbook.xml" not in names:
        raise Invalid({"file": "The file is a zip archive but not an Excel workbook (.xlsx). " + _SAVE_AS})
    if sum(names.values()) > XLSX_MAX_UNPACKED:
        raise Invalid({"file": "The workbook unpacks to more than an import takes. Split it into smaller files."})
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            found = sheet.iter_rows(values_only=True, max_col=XLSX_MAX_COLUMNS, max_row=XLSX_MAX_ROW + 1)
            return rows_of(_bounded(found), layout)
        finally:
            workbook.close()
    except Invalid:
        raise
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError, OSError):
        raise Invalid({"file": "The workbook could not be read. " + _SAVE_AS}) from None
