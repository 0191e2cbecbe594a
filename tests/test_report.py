"""The report mirrors the study: section order in every format, numbers from the data, Indonesian
number formatting, the claims check, and a manifest whose checksums hold."""

import hashlib
import json
import re
import subprocess
import sys

import pytest
import yaml

from collabgov.i18n import catalog, interval, number
from collabgov.report import SECTIONS
from conftest import text_of

pytestmark = pytest.mark.e2e
LANGS = ("id", "en")


def headings(lang: str) -> list[str]:
    """The study's sections in the report's order: the abstract in the report's language comes first."""
    keys = list(SECTIONS)
    if lang == "en":
        i, j = keys.index("abstrak"), keys.index("abstract")
        keys[i], keys[j] = keys[j], keys[i]
    return [
        catalog("id" if key == "abstrak" else "en" if key == "abstract" else lang)["report"]["sections"][key]
        for key in keys
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_html_sections_follow_the_study(built, lang):
    html = (built / f"reports/pujud/report.{lang}.html").read_text("utf-8")
    found = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html)]
    assert found == headings(lang)
    stages = re.findall(r"<h3 id=['\"]stage-([^'\"]+)", html)
    assert stages == ["dialogue", "trust_building", "commitment", "shared_understanding", "intermediate_outcomes"]


@pytest.mark.parametrize("lang", LANGS)
def test_docx_opens_with_the_same_headings(built, lang):
    import docx

    document = docx.Document(str(built / f"reports/pujud/report.{lang}.docx"))
    found = [p.text.strip() for p in document.paragraphs if p.style.name == "Heading 2"]
    assert found == headings(lang)
    assert len(document.tables) >= 10 and len(document.inline_shapes) >= 10


@pytest.mark.parametrize("lang", LANGS)
def test_docx_is_a4_and_its_tables_span_the_text_column(built, lang):
    import docx
    from docx.shared import Mm

    document = docx.Document(str(built / f"reports/pujud/report.{lang}.docx"))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    column = section.page_width - section.left_margin - section.right_margin
    tables = [table for table in document.tables if len(table.columns) > 1]  # not the frames of figures
    assert len(tables) >= 10
    for table in tables:
        assert abs(sum(c.width for c in table.columns) - column) < Mm(0.1)


@pytest.mark.parametrize("lang", LANGS)
def test_pdf_is_a4_with_numbered_pages_and_headings_in_order(built, lang):
    from pypdf import PdfReader

    reader = PdfReader(str(built / f"reports/pujud/report.{lang}.pdf"))
    pages = len(reader.pages)
    assert pages >= 10
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    texts = [page.extract_text() for page in reader.pages]
    assert f"1 / {pages}" in texts[0] and f"{pages} / {pages}" in texts[-1]
    flat = " ".join(re.sub(r"\s+", " ", t) for t in texts)
    position = -1
    for heading in headings(lang):
        position = flat.find(heading, position + 1)
        assert position >= 0, heading


def test_numbers_in_the_text_are_the_computed_ones(built, root):
    from collabgov import cases

    table = cases.load_case_table(root / "data/pujud")
    rr, lo, hi, p = cases.rate_ratio_test(int(table["cases"].iloc[0]), int(table["cases"].iloc[-1]))
    for lang in LANGS:
        text = text_of((built / f"reports/pujud/report.{lang}.html").read_text("utf-8"))
        assert f"{number(rr, lang)}" in text and interval(lo, hi, lang) in text
        for _, row in cases.yearly_summary(table).iterrows():
            assert interval(row["cases_low"], row["cases_high"], lang) in text


def test_indonesian_uses_the_decimal_comma(built):
    body = (built / "reports/pujud/report.id.html").read_text("utf-8")
    body = re.sub(
        r"<h2 id=.abstract.*?<h2 id=.background.", "", body, flags=re.S
    )  # the English abstract, as in the study
    text = text_of(body.split("appendix_provenance")[0])  # version numbers use points everywhere
    assert "0,48–2,40" in text and "1,64" in text and "+7,1%" in text
    assert "0.48" not in text and "1.64" not in text and "7.1%" not in text
    assert number(1234.5, "id") == "1.234,50" and number(1234.5, "en") == "1,234.50"


@pytest.mark.parametrize(
    "lang, verdict, evidence",
    [
        (
            "en",
            "arithmetic only: The change goes the claimed way, but the exact test shows no change beyond chance",
            "2021→2022: change +1 (+7.1%); rate ratio 1.07 (95% CI 0.48–2.40), p = 1.00",
        ),
        (
            "id",
            "benar secara hitungan saja: Arah perubahannya sesuai, tetapi uji eksak tidak menunjukkan perubahan",
            "2021→2022: perubahan +1 (+7,1%); rasio laju 1,07 (IK 95% 0,48–2,40), p = 1,00",
        ),
    ],
)
def test_cases_increased_is_arithmetic_only_not_a_change_beyond_chance(built, lang, verdict, evidence):
    html = (built / f"reports/pujud/report.{lang}.html").read_text("utf-8")
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", html) if ">C4<" in r)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells[3] == evidence and cells[4].startswith(verdict)


@pytest.mark.parametrize("lang, verdict", [("en", "normative statement"), ("id", "pernyataan normatif")])
def test_a_normative_sentence_is_not_ruled_on_as_a_fact(built, lang, verdict):
    html = (built / f"reports/pujud/report.{lang}.html").read_text("utf-8")
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", html) if ">C8<" in r)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells[4].startswith(verdict + ":") and len(cells[4]) > len(verdict) + 10  # with its reason


def test_manifest_lists_every_figure_with_its_checksum(built):
    folder = built / "figures/pujud"
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    listed = set()
    for fig in manifest["figures"]:
        assert fig["notebook"] in ("notebooks/01_case_table.ipynb", "notebooks/02_stage_findings.ipynb")
        assert isinstance(fig["cell"], int) and fig["inputs"]
        for suffix in ("png", "svg"):
            path = folder / fig["files"][suffix]["path"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == fig["files"][suffix]["sha256"]
            listed.add(path.name)
    on_disk = {p.name for p in folder.iterdir() if p.suffix in (".png", ".svg")}
    assert on_disk == listed
    assert manifest["parameters"] == yaml.safe_load((built / "data/pujud/site.yaml").read_text())
    gallery = (folder / "index.html").read_text("utf-8")
    assert all(f"href='{f['files']['svg']['path']}'" in gallery for f in manifest["figures"])


def test_every_html_image_has_alt_text(built):
    for lang in LANGS:
        html = (built / f"reports/pujud/report.{lang}.html").read_text("utf-8")
        images = re.findall(r"<img [^>]*>", html)
        assert len(images) >= 10
        assert all(re.search(r"alt=\"[^\"]{20,}\"", img) for img in images)


def test_catalogs_translate_every_key():
    def keys(node, prefix=""):
        return {prefix + k for k in node} | {
            x for k, v in node.items() if isinstance(v, dict) for x in keys(v, f"{prefix}{k}.")
        }

    assert keys(catalog("id")) == keys(catalog("en"))


def test_the_report_title_is_the_sites_own_then_its_fieldwork_title_then_the_generic_one():
    """A student's fieldwork report is titled with the student's own research, not a generic title that reads
    like Pujud's with the kecamatan changed."""
    from types import SimpleNamespace

    from collabgov.report import title_text

    def site(kind, notes=None):
        study = {"kind": kind, "title": "Sinergi ronda malam di Kecamatan Coblong", "notes": notes or {}}
        return SimpleNamespace(params={"kecamatan": "Coblong", "study": study})

    for lang in ("id", "en"):
        assert title_text(site("fieldwork"), lang) == "Sinergi ronda malam di Kecamatan Coblong"
        assert "Kecamatan Coblong" in title_text(site("reproduction"), lang)
        assert title_text(site("reproduction"), lang) != "Sinergi ronda malam di Kecamatan Coblong"
        own = {"report_title": {"id": "Judul sendiri", "en": "Own title"}}
        assert title_text(site("fieldwork", own), lang) == own["report_title"][lang]


def test_a_short_table_is_printed_on_one_page_and_a_long_one_repeats_its_header(tmp_path):
    """Printed, the case table's total row landed alone on the next page."""
    import pypdf

    from collabgov import export
    from collabgov.html_parts import table_html

    def pages(rows: int, filler: int) -> list[str]:
        body = [[str(2000 + i), str(i)] for i in range(rows)]
        table = table_html("t", "Tabel 1", ["Tahun", "Kasus"], body, "Kasus per tahun", "contoh", "id")
        page = tmp_path / f"page-{rows}-{filler}.html"
        text = "".join(f"<p>Baris {i}.</p>" for i in range(filler)) + table
        page.write_text(f"<html lang='id'><head><title>t</title></head><body>{text}</body></html>", "utf-8")
        scratch = tmp_path / f"scratch-{rows}-{filler}"
        scratch.mkdir()
        export.export_pdf(page, page.with_suffix(".pdf"), scratch)
        return [p.extract_text() for p in pypdf.PdfReader(page.with_suffix(".pdf")).pages]

    years = lambda text: [y for y in re.findall(r"\b20\d\d\b", text)]
    for filler in range(30, 42):  # the table starts lower and lower on the first page, then on the second
        short = [page for page in pages(4, filler) if years(page)]
        assert len(short) == 1 and len(years(short[0])) == 4, filler  # all four rows on one page
    long = [page for page in pages(90, 10) if years(page)]
    assert len(long) >= 2 and sum(len(years(page)) for page in long) == 90
    assert all("Tahun" in page and "Kasus" in page for page in long)  # the header on every page


@pytest.mark.parametrize("site, lang, draft", [("pujud", "en", False), ("kota", "id", True)])
def test_the_page_a_report_step_makes_is_the_page_a_fresh_process_makes(built, site, lang, draft):
    # a build's worker exports one report after another: nothing of an earlier one may reach the next
    script = (
        "import sys; from pathlib import Path; from collabgov import export, report, sites\n"
        "root, site, lang, draft, target = sys.argv[1:]\n"
        "title = report.title_text(sites.load_site(Path(root), site), lang)\n"
        "executed = Path(root, 'reports', site, 'executed', f'report.{lang}.ipynb')\n"
        "export.export_html(executed, Path(target), lang, title, draft == '1')\n"
    )
    fresh = built.parent / f"fresh-{site}.{lang}.html"
    subprocess.run([sys.executable, "-c", script, str(built), site, lang, str(int(draft)), str(fresh)], check=True)
    assert "<figure" in fresh.read_text("utf-8")
    assert fresh.read_bytes() == (built / "reports" / site / f"report.{lang}.html").read_bytes()


def test_what_a_kernel_logs_during_the_report_is_not_printed_in_it(tmp_path):
    """A kernel's log line on stderr (seen: a ZMQ error while other kernels started) reached the report."""
    import nbformat

    from collabgov import export

    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="ERROR:tornado.general:Uncaught exception\n"),
        nbformat.v4.new_output("display_data", data={"text/html": "<p>Tabel 1 ada di sini.</p>"}),
        nbformat.v4.new_output("stream", name="stdout", text="debug print\n"),
    ]
    notebook = tmp_path / "report.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), notebook)
    export.export_html(notebook, tmp_path / "report.html", "id", "Judul")
    page = (tmp_path / "report.html").read_text("utf-8")
    assert "Tabel 1 ada di sini." in page
    assert "tornado" not in page and "debug print" not in page
