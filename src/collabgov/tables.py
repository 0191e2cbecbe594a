"""Read a site's tables as people actually write them, and validate them against a declared schema.

Reading accepts what spreadsheets and QDA tools write: UTF-8 with or without a byte-order mark,
UTF-16 with a BOM, Windows-1252, comma/semicolon/tab separators, blank trailing rows and columns,
and ``.xlsx`` workbooks (first sheet). Validation uses Frictionless Table Schema descriptors kept
in ``collabgov/schemas/`` (the declared schema is data, JSON, and doubles as the machine-readable
data dictionary), checked with pandera after each cell is parsed to its type, so that a type error in
one cell does not hide a constraint error in another. Every problem is collected and reported as
``file:row: column: what was expected``, where ``row`` is the row number a spreadsheet shows (the header is row 1).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from .errors import DataError, Problem, display_path
from .i18n import message
from .inputs import Refused, read_bytes, record

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
MAX_TABLE_BYTES = 50 * 1024 * 1024  # larger inputs are refused rather than read into memory


@dataclass
class RawTable:
    """Cells as text, with the spreadsheet row number of every data row."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]


def find_table(folder: Path, name: str, lang: str = "en") -> Path | None:
    """The file holding table ``name`` in ``folder`` (``name.csv`` or ``name.xlsx``, ...); two of them is an error."""
    record(Path(folder) / f"{name}.*", folder, "glob")
    # lexists: a link is found here and refused, by name, when it is read
    found = [folder / f"{name}{suffix}" for suffix in TABLE_SUFFIXES if os.path.lexists(folder / f"{name}{suffix}")]
    if len(found) > 1:
        raise DataError(
            [Problem(display_path(found[1]), None, None, message("both_files", lang, a=found[0].name, b=found[1].name))]
        )
    return found[0] if found else None


def remove_other_formats(folder: Path, name: str, keep: str) -> None:
    """Delete table ``name`` in every format but ``keep`` (e.g. ``.csv``): a table written anew in one
    format must not leave an older copy in another, which ``find_table`` would refuse as a second copy."""
    for suffix in TABLE_SUFFIXES:
        other = folder / f"{name}{suffix}"
        if suffix != keep and other.exists():
            other.unlink()


def _decode(data: bytes) -> str | None:
    """Text of a delimited file as spreadsheets write it, or None when it is not text at all. A file that is UTF-8
    but for a few bytes (a cell pasted from a file in another encoding) keeps its UTF-8 and gets U+FFFD in place
    of those bytes (``_read_delimited`` names their cells): read as Windows-1252, all its UTF-8 would be garbled."""
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            partly = data.decode("utf-8", "replace")
            if any(ord(c) > 127 and c != "\ufffd" for c in partly):
                return partly
            return data.decode("cp1252")
    except UnicodeDecodeError:
        return None


# A text cell that starts with one of these is taken for a formula by spreadsheet programs. The
# project writes such cells to CSV with a leading apostrophe (as spreadsheets do themselves) and
# removes it again when it reads a CSV; in XLSX it writes them as text cells, which are never formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(text: str) -> str:
    """``=x`` -> ``'=x``; a text that already starts with an apostrophe before such a sign gets one more,
    so that ``unescape_formula`` gives back exactly what was written."""
    if text.startswith(FORMULA_START) or (text.startswith("'") and escape_formula(text[1:]) != text[1:]):
        return "'" + text
    return text


def unescape_formula(text: str) -> str:
    return text[1:] if text.startswith("'") and escape_formula(text[1:]) != text[1:] else text


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(data: bytes, path: Path, lang: str) -> list[list[str]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            return [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    except Exception as exc:  # a damaged workbook can fail anywhere inside openpyxl, zipfile or the XML parser
        problem = Problem(display_path(path), None, None, message("xlsx_unreadable", lang, detail=type(exc).__name__))
        raise DataError([problem]) from None


def _read_delimited(data: bytes, path: Path, lang: str) -> list[list[str]]:
    text = _decode(data)
    if text is None or "\x00" in text:
        raise DataError([Problem(display_path(path), None, None, message("binary_file", lang))])
    # The separator is the one that splits the header row into the most columns (a spreadsheet's
    # "CSV" may use ',', ';' or a tab); csv.Sniffer guesses from the data rows and is easily fooled.
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=lambda d: (len(next(csv.reader([first], delimiter=d), [])), d == ","))
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise DataError(
            [Problem(display_path(path), None, None, message("csv_unreadable", lang, detail=exc))]
        ) from None
    unreadable = [
        Problem(
            display_path(path), i + 1, rows[0][j] if j < len(rows[0]) else f"#{j + 1}", message("mixed_encoding", lang)
        )
        for i, row in enumerate(rows)
        for j, cell in enumerate(row)
        if "\ufffd" in cell
    ]
    if unreadable:
        raise DataError(unreadable)
    return [[unescape_formula(c.strip()) for c in row] for row in rows]


def read_table(path: Path, lang: str = "en", within: Path | None = None) -> RawTable:
    """Read a CSV/TSV/XLSX file into text cells; blank rows and blank trailing columns are dropped.

    ``within`` is the site folder the file must lie in (None for a file named on the command line)."""
    path = Path(path)
    shown = display_path(path)
    try:
        data = read_bytes(path, within, MAX_TABLE_BYTES)
    except Refused as exc:
        raise DataError([exc.problem(lang)]) from None
    grid = _read_xlsx(data, path, lang) if path.suffix.lower() == ".xlsx" else _read_delimited(data, path, lang)
    numbered = [(i + 1, row) for i, row in enumerate(grid) if any(c for c in row)]
    if not numbered:
        raise DataError([Problem(shown, None, None, message("empty_file", lang))])
    (_, header), body = numbered[0], numbered[1:]
    width = len(header)
    while width and not header[width - 1] and all(len(r) < width or not r[width - 1] for _, r in body):
        width -= 1
    header = [h.strip().lstrip("\ufeff") for h in header[:width]]
    rows = [r[:width] + [""] * (width - len(r)) if len(r) <= width else r for _, r in body]
    return RawTable(path, header, rows, [n for n, _ in body])


@cache
def schema_descriptor(name: str) -> dict:
    """The Table Schema (as a dict) for table ``name``; see ``collabgov/schemas/``."""
    text = resources.files("collabgov").joinpath(f"schemas/{name}.json").read_text("utf-8")
    return json.loads(text)


_DECIMAL_COMMA = re.compile(r"^-?\d{1,3}(\.\d{3})*,\d+$|^-?\d+,\d+$")


def _normalise_number(cell: str) -> str:
    return cell.replace(".", "").replace(",", ".") if _DECIMAL_COMMA.match(cell) else cell


_INTEGER = re.compile(r"^[+-]?\d+$")
_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$|^\d{1,3}(,\d{3})+$")
# a whole number typed with a zero fraction: 12,0 or 12.0 (and 1.234,0 / 1,234.0 with thousands)
_ZERO_FRACTION = re.compile(r"^([+-]?\d+|\d{1,3}(\.\d{3})+|\d{1,3}(,\d{3})+)[.,]0+$")
_BOOLEAN = {"true": True, "false": False, "yes": True, "no": False, "ya": True, "tidak": False, "1": True, "0": False}


def parse_cell(cell: str, kind: str):
    """Text cell -> typed value; ``None`` for an empty cell; raises ValueError when it does not fit."""
    if cell == "":
        return None
    if kind == "integer":
        if _THOUSANDS.match(cell):  # 1.596 or 1,596 as a spreadsheet may show a whole number
            cell = re.sub(r"[.,]", "", cell)
        elif zero := _ZERO_FRACTION.match(cell):
            cell = re.sub(r"[.,]", "", zero.group(1))
        if not _INTEGER.match(cell) or not -(2**63) <= int(cell) < 2**63:  # beyond what a table column holds
            raise ValueError(cell)
        return int(cell)
    if kind == "number":
        value = float(_normalise_number(cell))
        if value != value:  # NaN written as text
            raise ValueError(cell)
        return value
    if kind == "boolean":
        return _BOOLEAN[cell.lower()]
    return cell


_PANDAS_DTYPE = {"integer": "Int64", "number": "Float64", "boolean": "boolean", "string": "string"}


@cache
def pandera_schema(name: str):
    """The declared Table Schema of ``name`` as a pandera schema (constraints only; types are parsed first)."""
    import pandera.pandas as pa

    columns = {}
    for f in schema_descriptor(name)["fields"]:
        c = f.get("constraints", {})
        checks = []
        if "minimum" in c:
            checks.append(pa.Check.ge(c["minimum"]))
        if "maximum" in c:
            checks.append(pa.Check.le(c["maximum"]))
        if "enum" in c:
            checks.append(pa.Check.isin(c["enum"]))
        if "pattern" in c:
            checks.append(pa.Check.str_matches(f"^(?:{c['pattern']})$"))
        if "minLength" in c or "maxLength" in c:
            checks.append(pa.Check.str_length(c.get("minLength"), c.get("maxLength")))
        # No dtype here: validate_table builds each column with its declared dtype, so pandera's check would
        # be a tautology, and for strings a costly one (pandera 0.35 checks them element by element and formats
        # the whole column into a message even when all pass: 40 % of validation time measured).
        columns[f["name"]] = pa.Column(None, checks, nullable=True, unique=bool(c.get("unique")))
    return pa.DataFrameSchema(columns, strict=True, coerce=False)


REMEMBERED_CELLS = 5_000  # tables up to this size keep their verdict for the same cells (see validate_table)


def validate_table(raw: RawTable, schema_name: str, lang: str = "en") -> list[dict]:
    """Check ``raw`` against its declared schema; return typed rows or raise DataError listing every problem.

    The verdict depends on the cells, the schema and the language only, so a small table seen again (the same
    site validated again, a copy of it elsewhere, a site's unchanged tables while another is broken) is not
    checked again; its problems are given the path of the table at hand. pandera's checks were a quarter of
    the time of the unit tests."""
    shown = display_path(raw.path)
    if sum(len(row) for row in raw.rows) > REMEMBERED_CELLS:
        return _validate_table(raw, schema_name, lang, shown)
    rows, problems = _remembered(
        tuple(raw.header), tuple(map(tuple, raw.rows)), tuple(raw.row_numbers), schema_name, lang
    )
    if problems:
        raise DataError([replace(p, file=shown) for p in problems])
    return [dict(row) for row in rows]


@lru_cache(maxsize=256)
def _remembered(header, rows, row_numbers, schema_name, lang) -> tuple[tuple, tuple]:
    raw = RawTable(Path(), list(header), [list(row) for row in rows], list(row_numbers))
    try:
        return tuple(tuple(row.items()) for row in _validate_table(raw, schema_name, lang, "")), ()
    except DataError as exc:
        return (), tuple(exc.problems)


def _validate_table(raw: RawTable, schema_name: str, lang: str, shown: str) -> list[dict]:
    import pandas as pd
    import pandera.pandas as pa

    fields = schema_descriptor(schema_name)["fields"]
    names = [f["name"] for f in fields]
    problems: list[Problem] = []

    header = [h.lower() for h in raw.header]
    for i, h in enumerate(header):
        if not h:
            problems.append(Problem(shown, 1, f"#{i + 1}", message("blank_header", lang)))
        elif h not in names:
            problems.append(
                Problem(shown, 1, raw.header[i], message("unknown_column", lang, expected=", ".join(names)))
            )
        elif header.index(h) != i:
            problems.append(Problem(shown, 1, raw.header[i], message("duplicate_column", lang)))
    for f in fields:
        if f["name"] not in header and f.get("constraints", {}).get("required"):
            problems.append(Problem(shown, 1, f["name"], message("missing_column", lang)))
    if problems:
        raise DataError(problems)

    position = {h: i for i, h in enumerate(header)}
    typed: dict[str, list] = {name: [] for name in names}
    for n, row in zip(raw.row_numbers, raw.rows):
        if len(row) > len(header):
            problems.append(Problem(shown, n, None, message("extra_cells", lang, n=len(row) - len(header))))
        for f in fields:
            cell = row[position[f["name"]]] if f["name"] in position else ""
            try:
                value = parse_cell(cell, f["type"])
            except (ValueError, KeyError):
                problems.append(
                    Problem(
                        shown,
                        n,
                        f["name"],
                        message("type_error", lang, expected=message(f"type_{f['type']}", lang), found=shorten(cell)),
                    )
                )
                value = None
            else:
                if value is None and f.get("constraints", {}).get("required"):
                    problems.append(
                        Problem(
                            shown,
                            n,
                            f["name"],
                            message("required_typed", lang, expected=message(f"type_{f['type']}", lang)),
                        )
                    )
            typed[f["name"]].append(value)

    frame = pd.DataFrame({f["name"]: pd.array(typed[f["name"]], dtype=_PANDAS_DTYPE[f["type"]]) for f in fields})
    try:
        pandera_schema(schema_name).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems += _explain(exc.failure_cases, fields, raw, typed, shown, lang)
    if problems:
        problems.sort(key=lambda p: (p.row or 0, names.index(p.column) if p.column in names else -1))
        raise DataError(problems)
    return [{name: typed[name][i] for name in names} for i in range(len(raw.rows))]


_CHECKS = {
    "greater_than_or_equal_to": "minimum",
    "less_than_or_equal_to": "maximum",
    "isin": "enum",
    "str_matches": "pattern",
    "str_length": "length",
}


def _explain(failures, fields, raw, typed, shown, lang) -> list[Problem]:
    by_name = {f["name"]: f for f in fields}
    out = []
    for _, case in failures.iterrows():
        column, check, index = (
            case["column"],
            _CHECKS.get(str(case["check"]).split("(")[0], str(case["check"])),
            case["index"],
        )
        if index is None or index != index:
            continue
        index = int(index)
        n, c = raw.row_numbers[index], by_name[column].get("constraints", {})
        found = typed[column][index]
        if isinstance(found, str):
            found = shorten(found)
        if check == "field_uniqueness":
            first = typed[column].index(found)
            if first != index:
                out.append(
                    Problem(
                        shown, n, column, message("duplicate_value", lang, found=found, first=raw.row_numbers[first])
                    )
                )
        elif check in ("minimum", "maximum", "enum", "pattern"):
            value = c[check]
            if check == "enum":
                value = ", ".join(map(str, value))
            if check == "pattern":
                field = by_name[column]
                value = field.get(f"x-pattern-hint-{lang}") or field.get("x-pattern-hint", value)
            out.append(Problem(shown, n, column, message(f"constraint_{check}", lang, value=value, found=found)))
        elif check == "length":
            key = "minLength" if "minLength" in c and len(str(found)) < c["minLength"] else "maxLength"
            out.append(Problem(shown, n, column, message(f"constraint_{key}", lang, value=c[key], found=found)))
        else:
            out.append(Problem(shown, n, column, message("constraint_other", lang, found=found, note=check)))
    return out


def load_table(folder: Path, name: str, lang: str = "en", required: bool = True) -> list[dict] | None:
    """Find, read and validate table ``name`` in ``folder``."""
    path = find_table(folder, name, lang)
    if path is None:
        if not required:
            return None
        raise DataError([Problem(display_path(folder / f"{name}.csv"), None, None, message("file_missing", lang))])
    return validate_table(read_table(path, lang, within=folder), name, lang)


def shorten(text, width: int = 60) -> str:
    """A cell as a message quotes it: at most ``width`` characters, on one line."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cell_text(value) -> str:
    """A typed value as a table cell: empty for missing, ``true``/``false``, whole floats without ``.0``."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_table(path: Path, columns: list[str], rows: list[list] | list[dict]) -> Path:
    """Write one table as CSV or XLSX (by ``path``'s suffix) through a temporary file, so that a failed
    write leaves the earlier file whole. Text is written so that no spreadsheet takes it for a formula."""
    path = Path(path)
    cells = [[cell_text(r.get(c) if isinstance(r, dict) else r[i]) for i, c in enumerate(columns)] for r in rows]
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if path.suffix.lower() == ".xlsx":
            _write_xlsx(tmp, path.stem, columns, cells)
        else:
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
                writer.writerow(columns)
                writer.writerows([[escape_formula(c) for c in row] for row in cells])
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_xlsx(path: Path, title: str, columns: list[str], cells: list[list[str]]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title[:31]
    for r, row in enumerate([columns, *cells], start=1):
        for c, text in enumerate(row, start=1):
            if text == "":
                continue
            cell = ws.cell(row=r, column=c)
            if r > 1 and re.fullmatch(r"-?\d{1,15}", text):
                cell.value = int(text)
            else:
                cell.value = text
                cell.data_type = "s"  # text, never a formula, whatever it starts with
    save_workbook(wb, path)


FIXED_DATE = (2000, 1, 1, 0, 0, 0)  # every zip member's and workbook's date: the same table gives the same bytes


def save_workbook(wb, path: Path, compression: int = zipfile.ZIP_DEFLATED) -> None:
    """Save an openpyxl workbook so that the same content gives the same bytes: its document dates and
    every zip member's date are fixed (``Workbook.save`` would stamp the time of the run)."""
    from openpyxl.writer.excel import ExcelWriter

    wb.properties.created = wb.properties.modified = datetime.datetime(*FIXED_DATE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        ExcelWriter(wb, archive).save()
    Path(path).write_bytes(fixed_zip(buffer.getvalue(), compression))


def fixed_zip(data: bytes, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The same archive with every member dated FIXED_DATE and the same permissions, in the same order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", compression) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE)
            member.compress_type = compression
            member.external_attr = 0o644 << 16
            member.create_system = 3
            target.writestr(member, source.read(info))
    return out.getvalue()
