"""The DOCX as an editor sees it: page.toml's page and faces, black headings, the same bytes for the same page,
and table columns wide enough for their longest word."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from collabgov import docx_style, export

PAGE = export.page()
TWIPS = 1440 / 25.4
TEXT_WIDTH = round((PAGE["paper"]["width_mm"] - PAGE["margin"]["left_mm"] - PAGE["margin"]["right_mm"]) * TWIPS)


def part(docx: Path, name: str) -> str:
    with zipfile.ZipFile(docx) as zf:
        return zf.read(name).decode("utf-8")


def style(styles: str, key: str) -> str:
    found = re.search(rf'<w:style\b[^>]*w:styleId="{key}"[^>]*>.*?</w:style>', styles, re.S)
    assert found, key
    return found.group(0)


def export_page(tmp_path: Path, body: str, name: str = "page") -> Path:
    """A small page exported to DOCX as a report is."""
    page = tmp_path / f"{name}.html"
    page.write_text(f"<html lang='id'><body><h2>Bagian</h2>{body}</body></html>", "utf-8")
    scratch = tmp_path / f"scratch-{name}"
    scratch.mkdir()
    export.export_docx(page, tmp_path / f"{name}.docx", scratch)
    return tmp_path / f"{name}.docx"


def attributes(xml: str, tag: str) -> dict[str, int]:
    """The numbers of the first element ``tag``, by name."""
    found = re.search(rf"<w:{tag}\b[^>]*>", xml)
    assert found, tag
    return {name: int(value) for name, value in re.findall(r'w:(\w+)="(\d+)"', found.group(0))}


def test_the_reference_document_is_a4_with_the_margins_of_page_toml(tmp_path):
    document = part(docx_style.write_reference(tmp_path / "reference.docx"), "word/document.xml")
    size = attributes(document, "pgSz")
    assert (size["w"], size["h"]) == (11906, 16838)  # A4 in twips
    margin = attributes(document, "pgMar")
    for side in ("top", "right", "bottom", "left"):
        assert margin[side] == pytest.approx(PAGE["margin"][f"{side}_mm"] * TWIPS, abs=1)


def test_headings_are_black_in_the_heading_face_at_the_sizes_of_page_toml(tmp_path):
    styles = part(docx_style.write_reference(tmp_path / "reference.docx"), "word/styles.xml")
    for level in (1, 2, 3):
        heading = style(styles, f"Heading{level}")
        assert "<w:color" not in heading  # pandoc's default is blue
        assert f'w:ascii="{PAGE["font"]["heading"]}"' in heading
        assert f'<w:sz w:val="{round(PAGE["size"][f"h{level}"] * 2)}" />' in heading
    assert not any("<w:color" in style(styles, f"Heading{level}Char") for level in range(1, 10))
    assert f'w:ascii="{PAGE["font"]["body"]}"' in style(styles, "Normal")
    assert f'w:ascii="{PAGE["font"]["mono"]}"' in style(styles, "VerbatimChar")
    assert f'<w:sz w:val="{round(PAGE["size"]["small"] * 2)}" />' in style(styles, "TableText")
    assert f'<w:sz w:val="{round(PAGE["size"]["code"] * 2)}" />' in style(styles, "TableCode")


def test_the_same_page_gives_the_same_docx_bytes_twice(tmp_path, monkeypatch):
    first = docx_style.write_reference(tmp_path / "first.docx").read_bytes()
    assert docx_style.write_reference(tmp_path / "second.docx").read_bytes() == first
    with zipfile.ZipFile(tmp_path / "first.docx") as zf:  # not dated by the clock (a zip date lasts 2 s)
        assert {info.date_time for info in zf.infolist()} == {docx_style.ZIP_DATE}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    body = "<p>x</p><table><thead><tr><th>Tahun</th><th class='num'>Kasus</th></tr></thead><tbody><tr><td>2021</td><td class='num'>14</td></tr></tbody></table>"
    one, two = export_page(tmp_path, body, "one"), export_page(tmp_path, body, "two")
    assert one.read_bytes() == two.read_bytes()


def grid(document: str) -> list[list[int]]:
    """The column widths (twips) of every table, each checked against its cells' widths."""
    out = []
    for table in re.findall(r"<w:tbl>.*?</w:tbl>", document, re.S):
        columns = [int(x) for x in re.findall(r'<w:gridCol w:w="(\d+)"', table)]
        for row in re.findall(r"<w:tr>.*?</w:tr>", table, re.S):
            assert [int(x) for x in re.findall(r'<w:tcW w:type="dxa" w:w="(\d+)"', row)] == columns
        out.append(columns)
    return out


def least_width(word: str) -> float:
    """Less than the word takes in the table's header (DejaVu Sans Bold letters average over 0.6 em), in twips,
    with the cell's left and right margins (108 twips each)."""
    return len(word) * 0.55 * PAGE["size"]["small"] * 20 + 216


WORD = "Pertanggungjawaban"


def test_a_long_header_word_gets_a_column_wide_enough(tmp_path):
    # eight columns and no colgroup: pandoc gives each an eighth of 5.5 inches (990 twips) and leaves the rest
    # to the word processor, which then breaks the word inside
    head = "".join(f"<th class='num'>{h}</th>" for h in ("Tahun", WORD, "A", "B", "C", "D", "E", "F"))
    cells = "".join(f"<td class='num'>{n}</td>" for n in range(8))
    document = part(
        export_page(tmp_path, f"<table><thead><tr>{head}</tr></thead><tbody><tr>{cells}</tr></tbody></table>"),
        "word/document.xml",
    )
    [columns] = grid(document)
    assert columns[1] >= least_width(WORD)
    assert attributes(document, "pgSz")["w"] == 11906  # on the reference's A4
    assert sum(columns) == TEXT_WIDTH
    assert '<w:tblLayout w:type="fixed" />' in document
    assert document.count('<w:jc w:val="right" />') == 16  # the numbers' cells, as in the HTML
    assert document.count('<w:pStyle w:val="TableHeading" />') == 8


def test_a_fixed_table_keeps_its_proportions_but_not_below_its_longest_word(tmp_path):
    # a colgroup of 5% and 95%: too narrow for the word in the first column, which takes what it needs
    table = (
        "<table class='fixed'><colgroup><col style='width:5%'><col style='width:95%'></colgroup>"
        f"<thead><tr><th>{WORD}</th><th>Definisi</th></tr></thead>"
        "<tbody><tr><td>a</td><td>Kata-kata yang panjang sekali dalam satu sel</td></tr></tbody></table>"
        "<table class='fixed'><colgroup><col style='width:25%'><col style='width:75%'></colgroup>"
        "<thead><tr><th>Kode</th><th>Definisi</th></tr></thead><tbody><tr><td>a</td><td>b</td></tr></tbody></table>"
    )
    narrow, wide = grid(part(export_page(tmp_path, table), "word/document.xml"))
    assert narrow[0] >= least_width(WORD) and sum(narrow) == TEXT_WIDTH
    assert wide[0] == pytest.approx(TEXT_WIDTH / 4, abs=1) and sum(wide) == TEXT_WIDTH


def test_a_word_too_long_for_any_column_breaks_alone(tmp_path):
    checksum = "0123456789abcdef" * 4
    table = (
        f"<table><thead><tr><th>Berkas</th><th>SHA-256</th></tr></thead><tbody><tr><td>{WORD}.md</td>"
        f"<td><code>{checksum * 2}</code></td></tr></tbody></table>"
    )
    [columns] = grid(part(export_page(tmp_path, table), "word/document.xml"))
    assert least_width(WORD + ".md") <= columns[0] < TEXT_WIDTH / 2 and sum(columns) == TEXT_WIDTH
