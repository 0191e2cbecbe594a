"""The printed report (PDF): tagged for readers who use assistive technology, made from a Typst source that a
golden file pins down, the same bytes for the same page, and laid out without stranded headings, stranded
captions or half-empty pages."""

import functools
import html
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from collabgov import export
from collabgov.html_parts import DRAFT_MARK
from conftest import SITES_BUILT

LANGS = ("id", "en")
DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"
PAGE = export.page()
MM = 72 / 25.4


def report(built, site, lang, suffix):
    return built / "reports" / site / f"report.{lang}.{suffix}"


# --- the structure tree -------------------------------------------------------------------------------


def elements(reader: PdfReader) -> list[tuple[str, dict, int]]:
    """Every element of a tagged PDF's structure tree, depth first, as (role, element, depth); a role of the
    document's own is read through the tree's /RoleMap to the standard role it stands for."""
    root = reader.trailer["/Root"]["/StructTreeRoot"].get_object()
    roles = root.get("/RoleMap", {})
    out = []

    def role(name):
        for _ in range(len(roles) + 1):
            if name not in roles:
                break
            name = roles[name]
        return str(name)

    def walk(kids, depth):
        kids = kids.get_object()
        for kid in kids if isinstance(kids, list) else [kids]:
            node = kid.get_object()
            if isinstance(node, dict) and "/S" in node:  # not a marked-content reference or a number
                out.append((role(node["/S"]), node, depth))
                walk(node.get("/K", []), depth + 1)

    walk(root.get("/K", []), 0)
    return out


def outline(pdf: Path, depth: int = 3) -> str:
    """The structure tree of a PDF for a person to read: one line per element down to ``depth``, a run of
    siblings of the same role as one line (``TR x12``). For looking, not used by the tests:
    cd tests && ../.venv/bin/python -c "import test_pdf, sys; print(test_pdf.outline(sys.argv[1]))" x.pdf"""
    lines: list[list] = []
    for name, _, level in elements(PdfReader(pdf)):
        if level >= depth:
            continue
        if lines and lines[-1][:2] == [level, name]:
            lines[-1][2] += 1
        else:
            lines.append([level, name, 1])
    return "\n".join("  " * level + name[1:] + (f" x{n}" if n > 1 else "") for level, name, n in lines)


@pytest.mark.e2e
@pytest.mark.parametrize("site", SITES_BUILT)
@pytest.mark.parametrize("lang", LANGS)
def test_the_pdf_is_tagged_with_its_language_alt_texts_and_table_headers(built, site, lang):
    """A screen reader finds the document's language (and the other language's passages), every figure's alt
    text (the same as the page's), every table and its header cells, one /TH for each <th> of the page."""
    reader = PdfReader(report(built, site, lang, "pdf"))
    page = report(built, site, lang, "html").read_text("utf-8")
    catalog = reader.trailer["/Root"]
    assert catalog["/MarkInfo"]["/Marked"].value is True and "/StructTreeRoot" in catalog
    assert catalog["/Lang"] == lang
    tree = elements(reader)
    roles = [name for name, _, _ in tree]
    squash = lambda text: re.sub(r"\s+", " ", text).strip()
    alts = [squash(str(node.get("/Alt", ""))) for name, node, _ in tree if name == "/Figure"]
    assert alts and all(alts)
    images = [squash(html.unescape(a)) for a in re.findall(r"<img [^>]*alt=\"([^\"]*)\"", page)]
    assert len(images) == len(re.findall(r"<img\b", page))
    assert len(alts) >= len(images) and not set(images) - set(alts)
    tables, headers = len(re.findall(r"<table\b", page)), len(re.findall(r"<th\b", page))
    assert (roles.count("/Table"), roles.count("/TH")) == (tables, headers), "(tables, header cells)"
    for i, (name, _, level) in enumerate(tree):
        if name == "/Table":
            inside = []
            for other, _, deeper in tree[i + 1 :]:
                if deeper <= level:
                    break
                inside.append(other)
            assert "/TH" in inside and "/TD" in inside, f"table {roles[: i + 1].count('/Table')} has no header"
    others = set(re.findall(r"<div [^>]*\blang=\"(\w+)\"", page)) - {lang}
    assert others <= {str(node["/Lang"]) for _, node, _ in tree if "/Lang" in node}


# --- the Typst source, against a golden file ------------------------------------------------------------

MARKS = ("SINTETIS", DRAFT_MARK)
CONSTRUCTS = (  # what report.lua makes of each thing it handles, all of them in tests/data/page.html
    "#report-table(",
    "columns: (20fr, 45fr, none, none,)",
    "table.cell(align: right)[14]",
    "table.cell(align: left)[2021]",
    "table.cell(align: left)[`dialogue`]",
    'source: [#marked("source", [Sumber:',
    '#report-figure("image-001.png", "Grafik garis',
    '#report-placeholder("Gambar dalam studi asli',
    '#marked("synthetic", [',
    '#marked("study", [',
    '#marked("subtitle", [',
    '#marked("draft", [',
    '#marked("data-note", [',
    '#text(lang: "en")[',
    "#reference-list([Ansell",
    "- Butir daftar biasa",  # a list elsewhere stays a list
    'lang: "id"',
    'fill: rgb("#b00000"))[SINTETIS · DRAF / DRAFT]',
)


def renew_or_compare(name: str, made: bytes) -> None:
    """``made`` is tests/golden/<name> byte for byte; with UPDATE_GOLDEN=1 it becomes that file."""
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_bytes(made)
    assert made == golden.read_bytes(), f"{name} changed: see the docstring of test_pdf.py's golden tests to renew it"


def test_the_typst_source_of_a_page_with_every_construct_is_the_golden_one(tmp_path):
    """tests/data/page.html holds one of everything report.lua turns into Typst; its Typst source (template,
    filter and pandoc's writer together) is tests/golden/page.typ byte for byte, so that a new pandoc, or an
    edit of report.lua or report.typ, shows what it changes as a diff of that file (and a new typst or new fonts
    as a diff of page.pdf.txt, below). After such a change, write both anew and read their diff before
    committing them:
        UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_pdf.py -k golden"""
    source = export.typst_source(DATA / "page.html", tmp_path, MARKS).read_bytes()
    assert [c for c in CONSTRUCTS if c not in source.decode("utf-8")] == []
    renew_or_compare("page.typ", source)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image-001.png", "page.html", "page.toml", "report.typ"]


EPOCH = 1_700_000_000


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> list[Path]:
    """tests/data/page.html typeset twice with the same epoch, each time in a scratch folder of its own."""
    folder = tmp_path_factory.mktemp("page")
    pdfs = []
    for n in (1, 2):
        (folder / f"scratch-{n}").mkdir()
        export.export_pdf(DATA / "page.html", folder / f"page-{n}.pdf", folder / f"scratch-{n}", MARKS, epoch=EPOCH)
        pdfs.append(folder / f"page-{n}.pdf")
    return pdfs


def test_the_pdf_of_a_page_is_the_same_bytes_every_time_and_dated_by_the_epoch(compiled):
    assert compiled[0].read_bytes() == compiled[1].read_bytes()
    reader = PdfReader(compiled[0])
    assert reader.metadata.creation_date == datetime.fromtimestamp(EPOCH, UTC)
    assert "SINTETIS · DRAF / DRAFT" in reader.pages[0].extract_text()


def placements(page) -> list[str]:
    """Every text run and image of a page where Typst put it: points from the page's bottom left, to 0.1 pt."""
    placed = []

    def text(t, cm, tm, font, size):
        if t.strip():
            x, y = tm[4] * cm[0] + tm[5] * cm[2] + cm[4], matrix(cm, tm[4], tm[5])
            placed.append((-round(y, 1), round(x, 1), f"{size * cm[0]:.1f}pt {t.strip()}"))

    def before(op, args, cm, tm):
        if op == b"Do":
            placed.append((-round(cm[5] + cm[3], 1), round(cm[4], 1), f"image {cm[0]:.1f} x {cm[3]:.1f} pt"))

    page.extract_text(visitor_text=text, visitor_operand_before=before)
    return [f"{-y:7.1f} {x:6.1f}  {what}" for y, x, what in sorted(placed)]


def typeset(pdf: Path) -> str:
    """A PDF as text for a person to compare: each page's ``placements``, then the structure tree."""
    out = []
    for number, page in enumerate(PdfReader(pdf).pages, start=1):
        out += [f"page {number}", *placements(page)]
    return "\n".join(out + ["structure", outline(pdf, depth=99)]) + "\n"


def test_the_typeset_page_is_the_golden_one(compiled):
    """Where Typst puts each line and image of tests/data/page.html, and the page's structure tree, are
    tests/golden/page.pdf.txt: a new typst or new fonts show what they change as a diff of that file (renew it
    as the golden Typst source above says)."""
    renew_or_compare("page.pdf.txt", typeset(compiled[0]).encode("utf-8"))


# --- the printed pages ----------------------------------------------------------------------------------


def flat(text: str) -> str:
    """Text without spaces, line breaks and invisible break points: the PDF's lines and the HTML compare."""
    return re.sub(r"[\s\u200b\u00ad]+", "", text)


def matrix(m, x, y) -> float:
    return x * m[1] + y * m[3] + m[5]


def page_layout(page) -> dict:
    """One page as the tests see it (see ``layout``)."""
    height = float(page.mediabox.height)
    top, bottom = height - PAGE["margin"]["top_mm"] * MM, PAGE["margin"]["bottom_mm"] * MM
    runs, drawn, images = [], [], []

    def before(op, args, cm, tm):
        if op == b"Do":  # an image fills the unit square of the current matrix
            drawn.extend((matrix(cm, 0, 0), matrix(cm, 1, 1)))
            images.append(min(drawn[-2:]))
        elif op == b"re":
            x, y, w, h = (float(a) for a in args)
            drawn.extend((matrix(cm, x, y), matrix(cm, x + w, y + h)))
        elif op in (b"m", b"l"):
            drawn.append(matrix(cm, float(args[0]), float(args[1])))

    def text(t, cm, tm, font, size):
        if flat(t):
            runs.append((matrix(cm, tm[4], tm[5]), t))

    page.extract_text(visitor_operand_before=before, visitor_text=text)
    inside = lambda y: bottom - 2 < y < top + 2
    lines: list[list] = []
    for y, t in sorted((r for r in runs if inside(r[0])), key=lambda r: -r[0]):
        if lines and lines[-1][0] - y < 2:
            lines[-1][1] += flat(t)
        else:
            lines.append([y, flat(t)])
    ys = [y for y, _ in lines] + [y for y in drawn if inside(y)]
    return {
        "lines": [t for _, t in lines],
        "baselines": [y for y, _ in lines],
        "lowest_image": min((y for y in images if inside(y)), default=None),
        "depth": (top - min(ys)) / (top - bottom) if ys else 0.0,
    }


@functools.cache
def layout(pdf: Path) -> list[dict]:
    """Each page of a PDF as the tests see it: its text lines from top to bottom (text runs whose baselines lie
    within 2 pt, joined without spaces), their baselines, the foot of its lowest image, and how far down its
    text column the content goes.

    How far down: the lowest point of any text baseline, image or drawn line (table rules, boxes) on the page,
    measured from the top of the text column as a share of its height (0 empty, 1 full), the positions read
    from the page's content stream with pypdf. The margins (page.toml) hold the running header (the SYNTHETIC
    and DRAFT marks) and the page number, which are left out. Simple and exact for what Typst writes: each
    text run is placed by its own text matrix, each image by the matrix that scales its unit square."""
    return [page_layout(page) for page in PdfReader(pdf).pages]


def blocks(page: str) -> dict[str, list[str]]:
    """The headings and captions of a report's HTML page, flattened as ``flat`` flattens the PDF's lines."""
    found = lambda pattern: [
        flat(html.unescape(re.sub(r"<[^>]+>", "", m))) for m in re.findall(pattern, page, flags=re.S)
    ]
    return {
        "h2": found(r"<h2\b[^>]*>(.*?)</h2>"),
        "headings": found(r"<h[1-6]\b[^>]*>(.*?)</h[1-6]>"),
        "table captions": found(r"<caption\b[^>]*>(.*?)</caption>"),
        "figure captions": found(r"<figcaption\b[^>]*>(.*?)</figcaption>"),
    }


def pages_of(built, site, lang):
    return layout(report(built, site, lang, "pdf")), blocks(report(built, site, lang, "html").read_text("utf-8"))


@pytest.mark.e2e
@pytest.mark.parametrize("site", SITES_BUILT)
@pytest.mark.parametrize("lang", LANGS)
def test_no_page_holds_only_a_heading_or_a_caption(built, site, lang):
    """A page whose text, the page number and running marks aside, is nothing but headings and captions (and
    which shows no image) is a heading or caption cut off from what it heads; an empty page is wrong too."""
    pages, found = pages_of(built, site, lang)
    labels = sorted(found["headings"] + found["table captions"] + found["figure captions"], key=len, reverse=True)
    bad = []
    for number, page in enumerate(pages, start=1):
        rest = "".join(page["lines"])
        for label in labels:
            rest = rest.replace(label, "")
        if not rest and page["lowest_image"] is None:
            bad.append((number, page["lines"][:3]))
    assert not bad, f"{site} {lang}: pages with only a heading or a caption: {bad}"


@pytest.mark.e2e
@pytest.mark.parametrize("site", SITES_BUILT)
@pytest.mark.parametrize("lang", LANGS)
def test_no_page_ends_with_a_heading_or_a_tables_caption(built, site, lang):
    """The last lines of a page are no heading and no table's caption (which stands above its table), unless
    an image stands below them: Typst's sticky headings and captions take them to the next page with what
    they head."""
    pages, found = pages_of(built, site, lang)
    heads = set(found["headings"] + found["table captions"])
    bad = []
    for number, page in enumerate(pages, start=1):
        last = page["baselines"][-1] if page["baselines"] else 0
        for k in range(1, 5):
            tail = "".join(page["lines"][-k:])
            if tail in heads and (page["lowest_image"] is None or page["lowest_image"] > last):
                bad.append((number, tail[:60]))
                break
    assert not bad, f"{site} {lang}: pages that end with a heading or a table caption: {bad}"


@pytest.mark.e2e
@pytest.mark.parametrize("site", SITES_BUILT)
@pytest.mark.parametrize("lang", LANGS)
def test_no_page_is_more_than_half_empty_unless_a_section_starts_on_the_next(built, site, lang):
    """A page's content reaches at least halfway down its text column (see ``layout``), except on the last
    page and before a new section: when what follows, past the figures of the section that ends (known by
    their captions), starts with a level-2 heading. Figures are placed before the next section's heading,
    so a figure that does not fit under the one before leaves space."""
    pages, found = pages_of(built, site, lang)

    def after_figures(page) -> str:
        rest = "".join(page["lines"])
        while caption := next((c for c in found["figure captions"] if c and rest.startswith(c)), None):
            rest = rest[len(caption) :]
        return rest

    def new_section(following: list) -> bool:
        for page in following:  # pages that hold only figures are skipped
            rest = after_figures(page)
            if rest:
                return any(rest.startswith(h) for h in found["h2"] if h)
        return True

    bad = [
        (number, round(page["depth"], 2), pages[number]["lines"][0][:50] if pages[number]["lines"] else "")
        for number, page in enumerate(pages[:-1], start=1)
        if page["depth"] < 0.5 and not new_section(pages[number:])
    ]
    assert not bad, f"{site} {lang}: half-empty pages (page, depth, first line of the next): {bad}"
