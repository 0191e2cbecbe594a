"""Every output of every site the tests build: no 'nan', 'None' or empty brackets anywhere; numbers in the
narrative only where a table or figure of the report shows them; drafts marked on every page; each site's
report speaks of its own study (region, kind of study)."""

import html
import json
import re
import zipfile

import pytest
from pypdf import PdfReader

from collabgov import export
from conftest import SITES_BUILT

pytestmark = pytest.mark.e2e

BLANKS = re.compile(r"\bnan\b|\bNaN\b|\bNone\b|\(\s*\)|\[\s*\]|\bNaT\b|<NA>")


def visible(page: str) -> str:
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


def texts_of(built, site):
    """(name, text) of everything a reader of the site's outputs sees."""
    out = []
    for path in sorted((built / "reports" / site).glob("report.*.html")):
        page = path.read_text("utf-8")
        out.append((path.name, visible(page)))
        out.append((path.name + " (alt text)", " ".join(html.unescape(a) for a in re.findall(r'alt="([^"]*)"', page))))
    for path in sorted((built / "reports" / site).glob("report.*.pdf")):
        out.append((path.name, " ".join(p.extract_text() or "" for p in PdfReader(path).pages)))
    for path in sorted((built / "reports" / site).glob("report.*.docx")):
        with zipfile.ZipFile(path) as zf:
            out.append((path.name, visible(zf.read("word/document.xml").decode("utf-8"))))
    gallery = built / "figures" / site / "index.html"
    out.append((gallery.name, visible(gallery.read_text("utf-8"))))
    for sidecar in sorted((built / "figures" / site).glob("*.*.json")):
        record = json.loads(sidecar.read_text("utf-8"))
        out.append((sidecar.name, f"{record['caption']} {record['alt']} {record['source']}"))
    return out


@pytest.mark.parametrize("site", SITES_BUILT)
def test_no_output_prints_nan_none_or_empty_brackets(built, site):
    found = [
        (name, m.group(0), text[max(0, m.start() - 40) : m.end() + 40])
        for name, text in texts_of(built, site)
        for m in BLANKS.finditer(text)
    ]
    assert not found, found[:5]


NUMBER = re.compile(r"(?<![\w.,])[−+-]?\d+(?:[.,]\d+)*%?")


def numbers(text: str) -> set[str]:
    """The numbers of a text, as digits only: 1,07 (Indonesian) and 1.07 (English) are the same number."""
    return {re.sub(r"\D", "", n) for n in NUMBER.findall(text)}


def sections(page: str) -> tuple[str, str]:
    """(the report's narrative without its reference list, the reference list)."""
    refs = re.search(r'<h2 id="references">.*?(?=<h2 )', page, flags=re.S)
    body = page.replace(refs.group(0), "") if refs else page
    narrative = " ".join(visible(d) for d in re.findall(r'<div class="narrative".*?</div>', body, flags=re.S))
    return narrative, visible(refs.group(0)) if refs else ""


@pytest.mark.parametrize("site", SITES_BUILT)
@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_narrative_quotes_only_numbers_a_table_or_figure_shows(built, site, lang):
    """Abstract, narrative and claims quote no number that stands in no table or figure of the report (a citation's
    year or pages stand in the reference list)."""
    page = (built / "reports" / site / f"report.{lang}.html").read_text("utf-8")
    narrative, references = sections(page)
    claims = re.search(r'<div class="table-block" id="table-claims">.*?</div>', page, flags=re.S)
    rows = re.findall(r"<tr>(.*?)</tr>", claims.group(0)) if claims else []
    recomputed = [re.findall(r"<td[^>]*>(.*?)</td>", row)[3] for row in rows if len(re.findall(r"<td", row)) > 3]
    tables = [t for t in re.findall(r"<table.*?</table>", page, flags=re.S) if "table-claims" not in t]
    shown = " ".join(
        visible(t)
        for t in re.findall(r"<table.*?</table>", page, flags=re.S)
        if "Klaim (parafrasa)" not in t and "Claim (paraphrased)" not in t
    )
    shown += " " + " ".join(visible(f) for f in re.findall(r"<figcaption>.*?</figcaption>", page, flags=re.S))
    shown += " " + " ".join(html.unescape(a) for a in re.findall(r'alt="([^"]*)"', page)) + " " + references
    quoted = numbers(narrative) | numbers(" ".join(html.unescape(r) for r in recomputed))
    headings = {
        n for n in numbers(narrative) if re.search(rf"(Tabel|Table|Gambar|Figure|Bagan|Lampiran) {n}\b", narrative)
    }
    missing = quoted - numbers(shown) - headings
    assert tables and narrative
    assert not missing, f"{site} {lang}: numbers in the text that no table or figure shows: {sorted(missing)}"


def test_a_draft_says_so_on_every_page_and_a_finished_report_never_does(built):
    for lang in ("id", "en"):
        pdf = PdfReader(built / f"reports/kota/report.{lang}.pdf")
        assert all("DRAF / DRAFT" in (page.extract_text() or "") for page in pdf.pages)
        assert 'class="draft"' in (built / f"reports/kota/report.{lang}.html").read_text()
        with zipfile.ZipFile(built / f"reports/kota/report.{lang}.docx") as zf:
            assert "DRAF / DRAFT" in zf.read("word/header1.xml").decode()
            assert "rIdDraftHeader" in zf.read("word/document.xml").decode()
        pujud = PdfReader(built / f"reports/pujud/report.{lang}.pdf")
        assert not any("DRAF" in (page.extract_text() or "") for page in pujud.pages)
    for site, draft in (("kota", True), ("pujud", False)):  # the gallery and the records say so too
        assert ("DRAF / DRAFT" in (built / f"figures/{site}/index.html").read_text("utf-8")) == draft
        assert json.loads((built / f"figures/{site}/MANIFEST.json").read_text("utf-8"))["draft"] is draft
        assert json.loads((built / f"reports/{site}/provenance.json").read_text("utf-8"))["draft"] is draft


def test_the_student_site_speaks_of_its_own_study(built):
    """A kota, the student's own fieldwork, three years: no Kabupaten, no 'article', a trend over all years."""
    text = visible((built / "reports/kota/report.id.html").read_text("utf-8"))
    assert "Kota Contoh" in text and "Kabupaten Contoh" not in text
    assert "artikel" not in text.lower() and "disebut dalam studi" not in text
    assert "Tren selama seluruh periode" in text and "Catatan data: pada 2023 jumlah tersangka (11)" in text
    english = visible((built / "reports/kota/report.en.html").read_text("utf-8"))
    assert "article" not in english.lower() and "Trend over the whole period" in english
    pujud = visible((built / "reports/pujud/report.id.html").read_text("utf-8"))
    assert "Kabupaten Rokan Hilir" in pujud and "Tren selama seluruh periode" not in pujud


ENGLISH = {
    "the",
    "and",
    "of",
    "to",
    "in",
    "is",
    "are",
    "was",
    "were",
    "with",
    "for",
    "from",
    "by",
    "on",
    "this",
    "that",
    "these",
    "those",
    "not",
    "as",
    "be",
    "been",
    "which",
    "it",
    "its",
    "at",
    "or",
    "an",
    "has",
    "have",
    "had",
    "their",
    "there",
    "than",
    "but",
    "if",
    "into",
    "also",
    "only",
    "each",
    "one",
    "two",
    "our",
    "we",
    "you",
}


def indonesian_prose(page: str) -> str:
    """The Indonesian report's own words: without the English abstract, the reference list, identifiers from the
    data (code), titles in italics or quotation marks."""
    page = re.sub(r'<h2 id="abstract">.*?(?=<h2 )', " ", page, flags=re.S)
    page = re.sub(r'<h2 id="references">.*?(?=<h2 )', " ", page, flags=re.S)
    page = re.sub(r"<(code|em|i|title)\b.*?</\1>", " ", page, flags=re.S)
    text = visible(page)
    return re.sub(r"“[^”]*”|\"[^\"]*\"", " ", text)


@pytest.mark.parametrize("site", SITES_BUILT)
def test_the_indonesian_report_is_indonesian(built, site):
    text = indonesian_prose((built / f"reports/{site}/report.id.html").read_text("utf-8"))
    words = re.findall(r"[A-Za-z]+", text)
    english = [
        (w, text[max(0, m.start() - 50) : m.end() + 50])
        for m in re.finditer(r"\b[A-Za-z]+\b", text)
        if (w := m.group(0)).lower() in ENGLISH
    ]
    assert len(words) > 300
    assert not english, english[:8]


LETTERS = "A-Za-zÀ-ÿ"


def broken_words(pdf_path, vocabulary: set[str], hyphenated: set[str]) -> list[tuple[int, str, str]]:
    """Words split over two lines: without a hyphen (both halves glue into a word of the report, and at least one
    half is no word of its own), or at a hyphen that is not the word's own (a line ends in 'x-', the next starts
    with 'y', and the report never writes 'x-y'), in the prose as in the cells of a table."""
    out = []
    for number, page in enumerate(PdfReader(pdf_path).pages, start=1):
        lines = [line.strip() for line in (page.extract_text() or "").splitlines() if line.strip()]
        for first, second in zip(lines, lines[1:]):
            a = re.search(rf"(?:^|\s)([{LETTERS}]+)$", first)
            b = re.match(rf"([{LETTERS}]+)(?:$|[\s,.;:)])", second)
            if a and b:
                x, y = a.group(1), b.group(1)
                whole = (x + y).lower()
                if whole in vocabulary and (x.lower() not in vocabulary or y.lower() not in vocabulary):
                    out.append((number, x, y))
            h = re.search(rf"([{LETTERS}]+)-$", first)
            c = re.match(rf"[{LETTERS}]+", second)
            if h and c and f"{h.group(1)}-{c.group(0)}".lower() not in hyphenated:
                out.append((number, h.group(1) + "-", c.group(0)))
    return out


def hyphen_pairs(text: str) -> set[str]:
    """Each two parts of a hyphenated word of a text that a hyphen joins: face-to-face gives face-to, to-face."""
    pairs = set()
    for word in re.findall(rf"[{LETTERS}]+(?:-[{LETTERS}]+)+", text.lower()):
        parts = word.split("-")
        pairs |= {f"{p}-{q}" for p, q in zip(parts, parts[1:])}
    return pairs


@pytest.mark.parametrize("site", SITES_BUILT)
@pytest.mark.parametrize("lang", ["id", "en"])
def test_no_word_is_broken_without_a_hyphen_in_the_pdf(built, site, lang):
    """Words break only at a hyphen of their own (sabu-sabu, fact-finding), never mid-word: Typst hyphenates
    nothing, in the prose or in a table's cells."""
    page = (built / f"reports/{site}/report.{lang}.html").read_text("utf-8")
    text = visible(page).replace("\u200b", "")
    vocabulary = {w.lower() for w in re.findall(rf"[{LETTERS}]+", text)}
    assert not broken_words(built / f"reports/{site}/report.{lang}.pdf", vocabulary, hyphen_pairs(text))


COLUMN_INCHES = export.text_width_mm() / 25.4


@pytest.mark.parametrize("site", SITES_BUILT)
def test_every_text_in_every_figure_prints_at_8_pt_or_more(built, site):
    """The report prints a figure at its own size (300 dpi), shrunk only when wider than the text column."""
    small = []
    for sidecar in sorted((built / "figures" / site).glob("*.*.json")):
        record = json.loads(sidecar.read_text("utf-8"))
        printed = record["min_font_pt"] * min(1.0, COLUMN_INCHES / record["width_in"])
        if printed < 8:
            small.append((sidecar.name, round(printed, 2)))
    assert not small


@pytest.mark.parametrize("site", SITES_BUILT)
def test_the_docx_shows_the_title_once_and_the_gallery_follows_the_report(built, site):
    from collabgov.sites import load_site

    for lang in ("id", "en"):
        with zipfile.ZipFile(built / f"reports/{site}/report.{lang}.docx") as zf:
            document = zf.read("word/document.xml").decode("utf-8")
        title = re.search(r"<h1>(.*?)</h1>", (built / f"reports/{site}/report.{lang}.html").read_text("utf-8")).group(1)
        # once as the document's title; the parameters table in the appendix may list it as a value
        prose = re.sub(r"<w:tbl>.*?</w:tbl>", " ", document, flags=re.S)
        assert visible(prose).count(html.unescape(title)[:40]) == 1
    gallery = (built / f"figures/{site}/index.html").read_text("utf-8")
    numbers = [int(n) for n in re.findall(r"<h2>(?:Gambar|Figure) (\d+) ·", gallery)]
    assert numbers == sorted(numbers) and numbers[0] == 1
    page = (built / f"reports/{site}/report.{load_site(built, site).lang}.html").read_text("utf-8")
    first = re.search(r"<figure id=\"figure-([a-z_]+)\"", page).group(1)
    assert re.search(rf"<h2>(?:Gambar|Figure) 1 · {first}\.", gallery)


@pytest.mark.parametrize("site", SITES_BUILT)
def test_each_report_gives_its_readers_abstract_first_and_the_docx_names_its_title_and_language(built, site):
    """The English report put the Indonesian Abstrak before the English Abstract; the DOCX had no title."""
    for lang in ("id", "en"):
        page = (built / f"reports/{site}/report.{lang}.html").read_text("utf-8")
        order = re.findall(r"<h2 id=\"(abstrak|abstract)\"", page)
        if len(order) == 2:
            assert order == (["abstrak", "abstract"] if lang == "id" else ["abstract", "abstrak"])
            assert ("Indonesian Abstrak" in page) == (lang == "en")  # says that it changed the order
        with zipfile.ZipFile(built / f"reports/{site}/report.{lang}.docx") as zf:
            core = zf.read("docProps/core.xml").decode("utf-8")
        title = html.unescape(re.search(r"<title>(.*?)</title>", page, flags=re.S).group(1)).strip()
        assert title and f"<dc:title>{html.escape(title, quote=False)}</dc:title>" in core
        assert f"<dc:language>{lang}</dc:language>" in core
