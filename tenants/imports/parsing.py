"""Streaming readers for import files: .xlsx (openpyxl read-only) and .csv (UTF-8 with BOM, or GB18030).

Nothing here loads a whole file: rows come one at a time as ``(row_number, values)``, where ``values`` are
the columns of a ``Layout`` as stripped strings, in its order, whatever order the file has them in. The roster's
layout (ROSTER: COLUMNS, FIELDS) is the default; other imports (tenants/fees/fee_imports.py) pass their own.
Problems with the file as a whole raise FileProblem, whose message is an English msgid (translated when
shown, so a stored problem reads right in either language) plus its parameters.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path


def N_(message: str) -> str:
    """Mark a msgid for extraction; it is translated when shown, not here."""
    return message


# The template's headings, in order. They are part of the file format, so they are not translated.
COLUMNS = ("小区", "楼栋", "单元", "房号", "建筑面积(m²)", "入住状态", "业主姓名", "业主手机")
FIELDS = ("community", "building", "unit", "room", "floor_area", "occupancy", "owner_name", "owner_phone")
COLUMN_OF = dict(zip(FIELDS, COLUMNS, strict=True))

# Other headings people write for the same columns (compared after _normalise_heading).
_ALIASES = {
    "community": ("小区", "小区名称", "小区名", "community"),
    "building": ("楼栋", "楼号", "楼栋号", "楼", "building"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房号", "房间号", "室号", "门牌号", "room"),
    "floor_area": ("建筑面积(m²)", "建筑面积", "面积(m²)", "面积", "floorarea(m²)", "floorarea"),
    "occupancy": ("入住状态", "状态", "occupancy"),
    "owner_name": ("业主姓名", "业主", "姓名", "ownername"),
    "owner_phone": ("业主手机", "业主手机号", "手机", "手机号", "手机号码", "业主电话", "ownerphone", "ownermobile"),
}


class Layout:
    """The columns of one kind of import file: the template's headings (part of the file format, not translated),
    the field each one fills, and other headings people write for them."""

    def __init__(self, columns: tuple[str, ...], fields: tuple[str, ...], aliases: dict[str, tuple[str, ...]],
                 no_rows: str = ""):
        self.columns, self.fields = columns, fields
        self.column_of = dict(zip(fields, columns, strict=True))
        self.heading_field = {_normalise_heading(alias): field
                              for field, names in aliases.items() for alias in (*names, self.column_of[field])}
        self.no_rows = no_rows or N_("The file has the column headings but no households below them.")


XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and .doc) format
EXCEL_MAX_ROWS = 1_048_576
HEADER_SEARCH_ROWS = 5  # a title line or two above the headings is fine
MAX_CELL_CHARS = 200


class FileProblem(Exception):
    """The file as a whole cannot be imported. ``message`` is an English msgid, ``params`` its values."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


# --- what kind of file is it ---------------------------------------------------------------------


def detect_format(filename: str, head: bytes) -> str:
    """'xlsx' or 'csv', from the name AND the first bytes; FileProblem otherwise."""
    suffix = Path(filename or "").suffix.lower()
    if not head:
        raise FileProblem(N_("The file is empty."))
    if head.startswith(OLE_MAGIC) or suffix == ".xls":
        raise FileProblem(N_("This is an old .xls workbook. In Excel or WPS choose Save As → Excel Workbook "
                             "(.xlsx), then upload that file."))
    if suffix == ".xlsx":
        if not head.startswith(XLSX_MAGIC):
            raise FileProblem(N_("This file is named .xlsx but is not an Excel workbook. "
                                 "Save it again from Excel or WPS as .xlsx."))
        return "xlsx"
    if suffix == ".csv":
        if head.startswith(XLSX_MAGIC):
            raise FileProblem(N_("This file is named .csv but is an Excel workbook. Rename it to .xlsx."))
        return "csv"
    raise FileProblem(N_("Upload an Excel workbook (.xlsx) or a CSV file (.csv)."))


# --- pre-checks, before any row is parsed ------------------------------------------------------------


def precheck(path: Path, fmt: str, *, max_rows: int, max_unzipped_bytes: int, layout: Layout | None = None
             ) -> int | None:
    """Checks before the rows are parsed: size once unpacked, declared or counted rows, the headings and that
    a data row follows them. Opens the file once. Returns the number of data rows if known cheaply."""
    layout = layout or ROSTER
    if fmt == "xlsx":
        return _precheck_xlsx(path, max_rows=max_rows, max_unzipped_bytes=max_unzipped_bytes, layout=layout)
    estimate = _precheck_csv(path, max_rows=max_rows)
    _first_row(_csv_rows(path), max_rows, layout)
    return estimate


def _first_row(raw, max_rows: int, layout: Layout) -> None:
    """The headings are right and at least one data row follows them (raises FileProblem otherwise)."""
    rows = _data_rows(raw, max_rows, layout)
    try:
        if next(rows, None) is None:
            raise FileProblem(layout.no_rows)
    finally:
        rows.close()
        raw.close()


def _precheck_xlsx(path: Path, *, max_rows: int, max_unzipped_bytes: int, layout: Layout) -> int | None:
    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise FileProblem(N_("The workbook is damaged and cannot be opened. Save it again from Excel or WPS.")) \
            from None
    if unzipped > max_unzipped_bytes:
        raise FileProblem(N_("The workbook is too large once unpacked. Split it into smaller files."))
    with _open_workbook(path) as sheet:
        # The sheet's own <dimension> says how many rows it has; Excel's maximum means "unknown".
        declared = sheet.max_row
        data_rows = None if declared is None or declared >= EXCEL_MAX_ROWS else max(declared - 1, 0)
        if data_rows is not None and data_rows > max_rows:
            raise FileProblem(N_("The file has %(rows)s rows; at most %(max)s can be imported at once. "
                                 "Split it into smaller files."), rows=data_rows, max=max_rows)
        _first_row(_sheet_rows(sheet), max_rows, layout)
    return data_rows


def _precheck_csv(path: Path, *, max_rows: int) -> int:
    lines = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            if b"\x00" in chunk:
                raise FileProblem(N_("This is not a text CSV file. In Excel or WPS choose Save As → "
                                     "CSV UTF-8 (.csv), or upload the .xlsx workbook instead."))
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    data_rows = max(lines - 1, 0)
    if data_rows > max_rows:
        raise FileProblem(N_("The file has %(rows)s rows; at most %(max)s can be imported at once. "
                             "Split it into smaller files."), rows=data_rows, max=max_rows)
    _csv_encoding(path)  # refuses a file that is not text in either encoding
    return data_rows


# --- reading rows ------------------------------------------------------------------------------------


def read_rows(path: Path, fmt: str, *, max_rows: int, layout: Layout | None = None
              ) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Yield (row number as the spreadsheet shows it, the layout's values) for each non-empty data row.

    Raises FileProblem for wrong headings, too many rows (counted while streaming, stopping early) or a
    file that turns out to be malformed part-way through.
    """
    raw = _xlsx_rows(path) if fmt == "xlsx" else _csv_rows(path)
    try:
        yield from _data_rows(raw, max_rows, layout or ROSTER)
    finally:
        raw.close()  # closes the workbook or file even when the caller stops early


def _data_rows(raw, max_rows: int, layout: Layout) -> Iterator[tuple[int, tuple[str, ...]]]:
    positions = None
    count = 0
    candidates: list[tuple[int, int, list[str]]] = []  # (headings found, row number, missing headings)
    for number, cells in raw:
        values = [_cell_text(c) for c in cells]
        if not any(values):
            continue
        if positions is None:
            positions, missing = _match_headings(values, layout)
            if positions is None:
                candidates.append((len(layout.columns) - len(missing), number, missing))
                if len(candidates) >= HEADER_SEARCH_ROWS:
                    break
            continue
        count += 1
        if count > max_rows:
            raise FileProblem(N_("The file has more than %(max)s rows; at most %(max)s can be imported at once. "
                                 "Split it into smaller files."), max=max_rows)
        yield number, tuple(values[i] if i < len(values) else "" for i in positions)
    if positions is None:
        if not candidates:
            raise FileProblem(N_("The file has no rows. Fill in the template and upload it again."))
        _, _, missing = max(candidates, key=lambda c: (c[0], -c[1]))
        raise FileProblem(N_("The first row must have the column headings of the template: %(expected)s. "
                             "Missing: %(missing)s."), expected=", ".join(layout.columns), missing=", ".join(missing))


def _normalise_heading(value: str) -> str:
    text = re.sub(r"\s+", "", value).lower()
    text = text.replace("（", "(").replace("）", ")").replace("㎡", "m²").replace("m2", "m²")
    text = text.replace("平方米", "m²").replace("*", "")
    return text


ROSTER = Layout(COLUMNS, FIELDS, _ALIASES)


def _match_headings(values: list[str], layout: Layout) -> tuple[list[int] | None, list[str]]:
    """Column positions in the layout's field order when ``values`` is a heading row; else (None, missing)."""
    found: dict[str, int] = {}
    for index, value in enumerate(values):
        field = layout.heading_field.get(_normalise_heading(value))
        if field is not None and field not in found:
            found[field] = index
    missing = [layout.column_of[f] for f in layout.fields if f not in found]
    if missing:
        return None, missing
    return [found[f] for f in layout.fields], []


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel keeps numbers as floats: 1201.0 is room "1201", 13800138000.0 a phone number.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    text = str(value).strip()
    return text[: MAX_CELL_CHARS + 1]  # longer than any column allows; the row check reports it


# --- xlsx ----------------------------------------------------------------------------------------------


class _open_workbook:  # noqa: N801 (a context manager used like a function)
    """The first worksheet of a workbook in openpyxl's streaming (read-only) mode."""

    def __init__(self, path: Path):
        self.path = path
        self.workbook = None

    def __enter__(self):
        import openpyxl

        try:
            self.workbook = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
            sheets = self.workbook.worksheets
        except Exception:  # openpyxl raises many kinds of error for a damaged file
            self.__exit__(None, None, None)
            raise FileProblem(N_("The workbook is damaged and cannot be opened. "
                                 "Save it again from Excel or WPS.")) from None
        if not sheets or not hasattr(sheets[0], "iter_rows"):
            self.__exit__(None, None, None)
            raise FileProblem(N_("The first sheet of the workbook is not a worksheet. Put the roster on the first "
                                 "sheet, as in the template."))
        return sheets[0]

    def __exit__(self, *exc):
        if self.workbook is not None:
            try:
                self.workbook.close()
            except Exception:  # noqa: S110 (closing a damaged archive may fail; nothing to do)
                pass
            self.workbook = None
        return False


def _xlsx_rows(path: Path) -> Iterator[tuple[int, tuple]]:
    with _open_workbook(path) as sheet:
        yield from _sheet_rows(sheet)


def _sheet_rows(sheet) -> Iterator[tuple[int, tuple]]:
    # Trust no declared size: read every row the sheet really has.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    number = 0
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except Exception:
            raise FileProblem(N_("The workbook is damaged after row %(row)s and cannot be read. "
                                 "Save it again from Excel or WPS."), row=number) from None
        number += 1
        yield number, cells


# --- csv -------------------------------------------------------------------------------------------------


def _csv_encoding(path: Path) -> str:
    """'utf-8-sig' when the whole file is UTF-8, else 'gb18030' (Excel's CSV on Chinese Windows)."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as f:
                while chunk := f.read(1 << 16):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileProblem(N_("The text of the CSV file cannot be read. In Excel or WPS choose Save As → CSV UTF-8 (.csv)."))


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    encoding = _csv_encoding(path)
    with path.open("rb") as binary:
        text = io.TextIOWrapper(binary, encoding=encoding, newline="")
        first = text.readline()
        # Excel writes commas; some tools write tabs or semicolons.
        delimiter = max((",", "\t", ";"), key=first.count) if first else ","
        text.seek(0)
        reader = csv.reader(text, delimiter=delimiter)
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError):
                raise FileProblem(N_("The CSV file is malformed after row %(row)s (for example an unclosed quote). "
                                     "Save it again from Excel or WPS."), row=number) from None
            number += 1
            yield number, cells
