"""Reading tables as spreadsheets write them, and the errors a user sees for bad ones."""

import pytest

from collabgov.cases import load_case_table
from collabgov.errors import DataError
from collabgov.tables import read_table, write_table
from conftest import write

GOOD = "year,cases,suspects,source\n2021,14,23,Polsek\n2022,15,23,Polsek\n"


def errors(folder, lang="en") -> list[str]:
    with pytest.raises(DataError) as exc:
        load_case_table(folder, lang)
    return [str(p) for p in exc.value.problems]


def test_reads_the_good_table(tmp_path):
    write(tmp_path / "cases.csv", GOOD)
    table = load_case_table(tmp_path)
    assert list(table["cases"]) == [14, 15] and table["year"].dtype == "int64"


@pytest.mark.parametrize("encoding, sep", [("utf-8-sig", ","), ("cp1252", ";"), ("utf-16", "\t"), ("utf-8", ";")])
def test_reads_spreadsheet_encodings_and_separators(tmp_path, encoding, sep):
    text = GOOD.replace("Polsek", "Polsek Pujud – catatan").replace(",", sep) + sep * 3 + "\n\n"
    write(tmp_path / "cases.csv", text, encoding)
    table = load_case_table(tmp_path)
    assert list(table["suspects"]) == [23, 23]
    assert table["source"][0] == "Polsek Pujud – catatan"


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_utf8_table_with_a_byte_of_another_encoding_names_the_cell(tmp_path, bom):
    """A cell pasted from a Windows-1252 file into a UTF-8 one: read as Windows-1252, every other accent and dash
    of the file was garbled without a word; now the cell is named."""
    text = GOOD.replace("Polsek", "Polsek Pujud – catatan")
    data = text.encode("utf-8").replace(b"catatan", b"caf\xe9", 1)
    (tmp_path / "cases.csv").write_bytes(bom + data)
    with pytest.raises(DataError) as exc:
        load_case_table(tmp_path, "id")
    assert len(exc.value.problems) == 1
    assert "cases.csv:2: source: ada karakter yang tidak terbaca di sini" in str(exc.value)


def test_reads_xlsx(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [
        ["year", "cases", "suspects", "source"],
        [2021, 14, 23, "P"],
        [2022, 15.0, 23, "P"],
        [None, None, None, None],
    ]:
        ws.append(row)
    wb.save(tmp_path / "cases.xlsx")
    assert list(load_case_table(tmp_path)["cases"]) == [14, 15]


def test_every_problem_is_listed_with_file_row_and_column(tmp_path):
    write(tmp_path / "cases.csv", "year,cases,suspects,source\n2021,14,-2,P\n2021,abc,3,\n")
    found = errors(tmp_path)
    assert found == [
        f"{tmp_path}/cases.csv:2: suspects: expected a value of at least 0, found '-2'",
        f"{tmp_path}/cases.csv:3: year: duplicate value '2021': it is already in row 2",
        f"{tmp_path}/cases.csv:3: cases: expected a whole number, found 'abc'",
        f"{tmp_path}/cases.csv:3: source: a value is required here: expected text",
    ]


def test_missing_and_unknown_columns(tmp_path):
    write(tmp_path / "cases.csv", "year,cases,suspect,source\n2021,1,1,P\n")
    found = errors(tmp_path)
    assert any(":1: suspect: unexpected column" in e for e in found)
    assert any(":1: suspects: required column is missing" in e for e in found)


def test_years_must_increase(tmp_path):
    write(tmp_path / "cases.csv", "year,cases,suspects,source\n2022,1,1,P\n2021,1,1,P\n")
    assert errors(tmp_path) == [
        f"{tmp_path}/cases.csv:3: year: years must increase from row to row; '2021' follows 2022"
    ]


def test_messages_in_indonesian(tmp_path):
    write(tmp_path / "cases.csv", "year,cases,suspects,source\n2021,x,1,P\n")
    assert errors(tmp_path, "id") == [f"{tmp_path}/cases.csv:2: cases: seharusnya bilangan bulat, tertulis 'x'"]


def test_empty_and_missing_files(tmp_path):
    write(tmp_path / "cases.csv", "\n\n")
    assert errors(tmp_path) == [f"{tmp_path}/cases.csv: the file is empty: expected a header row and data rows"]
    (tmp_path / "cases.csv").unlink()
    assert errors(tmp_path) == [f"{tmp_path}/cases.csv: file not found"]


def test_truncated_xlsx_is_a_clear_error(tmp_path):
    (tmp_path / "cases.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    assert "not a readable .xlsx workbook" in errors(tmp_path)[0]


def test_row_numbers_are_the_spreadsheet_rows_after_blank_lines(tmp_path):
    write(tmp_path / "t.csv", "a,b\n\n1,2\n,\n3,4\n")
    raw = read_table(tmp_path / "t.csv")
    assert raw.row_numbers == [3, 5] and raw.rows == [["1", "2"], ["3", "4"]]


def test_every_column_is_described_and_every_pattern_explained_in_both_languages():
    """A cell that breaks a pattern is told what was expected in words, in the site's language, never as a regex."""
    import json
    from importlib import resources

    for schema in resources.files("collabgov").joinpath("schemas").iterdir():
        if not schema.name.endswith(".json") or schema.name == "site.schema.json":
            continue
        for field in json.loads(schema.read_text("utf-8")).get("fields", []):
            if "pattern" in field.get("constraints", {}):
                assert field.get("x-pattern-hint") and field.get("x-pattern-hint-id"), (schema.name, field["name"])
            # the data dictionary says what every column holds, in both languages
            assert field.get("description") and field.get("x-description-id"), (schema.name, field["name"])


def test_the_same_table_written_twice_as_xlsx_is_the_same_bytes(tmp_path):
    import time

    columns, rows = ["year", "cases", "source"], [["2021", "14", "=cmd|' /C calc'!A0"], ["2022", "15", "Polsek"]]
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = write_table(tmp_path / "a" / "cases.xlsx", columns, rows).read_bytes()
    time.sleep(1.1)  # a clock that moved on must not show in the file
    assert write_table(tmp_path / "b" / "cases.xlsx", columns, rows).read_bytes() == first


def test_a_table_seen_again_gives_the_same_verdict_in_its_own_words_and_fresh_rows(tmp_path):
    """validate_table remembers small tables: the verdict still follows the path, the language and the cells,
    and the rows a caller gets are its own to change."""
    from collabgov.errors import DataError
    from collabgov.tables import RawTable, validate_table

    good = RawTable(tmp_path / "cases.csv", ["year", "cases", "suspects", "source"], [["2022", "3", "4", "x"]], [2])
    rows = validate_table(good, "cases")
    rows[0]["cases"] = 99
    assert validate_table(good, "cases")[0]["cases"] == 3
    bad = RawTable(good.path, good.header, [["2022", "tiga", "4", "x"]], [2])
    for lang, word in (("id", "seharusnya bilangan bulat"), ("en", "expected a whole number")):
        with pytest.raises(DataError) as exc:
            validate_table(bad, "cases", lang)
        assert word in str(exc.value)
    elsewhere = RawTable(tmp_path / "lain" / "cases.csv", bad.header, bad.rows, bad.row_numbers)
    with pytest.raises(DataError) as exc:
        validate_table(elsewhere, "cases", "id")
    assert "lain/cases.csv:2: cases" in str(exc.value)


@pytest.mark.parametrize(
    "count, said",
    [
        ("99999999999999999999", "seharusnya bilangan bulat"),  # beyond what a table column holds
        ("9223372036854775807", "seharusnya paling besar 100000"),
        ("1000000000000", "seharusnya paling besar 100000"),  # the case statistics would run for hours
    ],
)
def test_a_count_too_large_for_a_kecamatan_is_named_with_its_row(tmp_path, count, said):
    write(tmp_path / "cases.csv", f"year,cases,suspects,source\n2021,14,23,P\n2022,{count},23,P\n")
    with pytest.raises(DataError) as exc:
        load_case_table(tmp_path, "id", [2021, 2022])
    (problem,) = exc.value.problems
    assert (problem.row, problem.column) == (3, "cases") and said in problem.message
