"""The look of the DOCX report: the printed page of page.toml, DejaVu faces, black headings, table columns
as wide as their longest word.

pandoc styles a DOCX after a reference document (``--reference-doc``): ``write_reference`` makes one from
pandoc's own (``pandoc --print-default-data-file reference.docx``) with page.toml's paper, margins, fonts
and sizes. ``finish`` then sets the column widths and the title of the DOCX pandoc wrote. The reference's zip entries
have one fixed date and the DOCX keeps pandoc's (SOURCE_DATE_EPOCH), so the same input gives the same bytes."""

from __future__ import annotations

import io
import itertools
import re
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from functools import cache
from html import unescape
from pathlib import Path

from .export import font_folder, page, text_width_mm

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
TWIPS = 1440 / 25.4  # twentieths of a point per millimetre
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# The schema's order of a run's properties (Word refuses a style whose elements are out of order).
RPR_ORDER = (
    "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint noProof snapToGrid vanish "
    "webHidden color spacing w kern position sz szCs highlight u effect bdr shd fitText vertAlign rtl cs em lang"
)
# ... and of a style's parts
STYLE_ORDER = (
    "name aliases basedOn next link autoRedefine hidden uiPriority semiHidden unhideWhenUsed qFormat locked personal "
    "personalCompose personalReply rsid pPr rPr tblPr trPr tcPr tblStylePr"
)
# ... and of a table's
TABLE_ORDER = (
    "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc tblCellSpacing tblInd "
    "tblBorders shd tblLayout tblCellMar tblLook"
)


def w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def write_reference(target: Path) -> Path:
    """pandoc's reference DOCX on page.toml's page: A4, its margins, DejaVu Serif text, DejaVu Sans headings
    and captions in black, DejaVu Sans Mono code, table text at the small size."""
    import pypandoc

    default = subprocess.run(
        [pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"], capture_output=True, check=True
    ).stdout
    with zipfile.ZipFile(io.BytesIO(default)) as zin:
        entries = {name: zin.read(name) for name in zin.namelist()}
    entries["word/styles.xml"] = _styles(entries["word/styles.xml"])
    entries["word/document.xml"] = _section(entries["word/document.xml"].decode("utf-8")).encode("utf-8")
    _write_zip(target, entries)
    return target


def align_numbers(html: str) -> str:
    """The page with its numbers' cells (th.num, td.num, right-aligned by report.css) right-aligned for pandoc,
    which aligns a cell by its align attribute."""
    return re.sub(r"""(<t[hd]\b[^>]*\bclass=["']num["'])""", r"\1 align='right'", html)


def _styles(xml: bytes) -> bytes:
    font, size = page()["font"], page()["size"]
    ET.register_namespace("w", W)
    ET.register_namespace("r", R)
    root = ET.fromstring(xml)
    # The body's face is Normal's rather than the document default's: LibreOffice lays the default over a
    # table's text as if set by hand, and the code in a table lost its face.
    defaults = root.find(f"{w('docDefaults')}/{w('rPrDefault')}/{w('rPr')}")
    defaults.remove(defaults.find(w("rFonts")))
    _run(defaults, points=size["body"])
    for style in root.iter(w("style")):
        name = style.get(w("styleId"))
        heading = re.fullmatch(r"Heading(\d)(Char)?", name)
        if name == "Normal":
            _run(_part(style, "rPr"), font["body"])
        elif heading:  # pandoc's are blue and light: black and bold here, as in the HTML
            level = f"h{heading.group(1)}"
            _run(_part(style, "rPr"), font["heading"], size.get(level, size["body"]), bold=level in size)
        elif name in ("Title", "TitleChar", "Subtitle", "SubtitleChar"):
            _run(_part(style, "rPr"), font["heading"])
        elif name in ("Caption", "TableCaption", "ImageCaption"):  # sans, small, upright; a table's title bold
            _run(_part(style, "rPr"), font["heading"], size["small"], bold=name == "TableCaption", italic=False)
        elif name == "VerbatimChar":
            _run(_part(style, "rPr"), font["mono"], size["small"])
    # Tables: a rule above and below, as in the HTML (pandoc's rule under the header row stays).
    table = root.find(f"{w('style')}[@{w('styleId')}='Table']/{w('tblPr')}")
    rules = _part(table, "tblBorders", TABLE_ORDER)
    for edge in ("top", "bottom"):
        ET.SubElement(rules, w(edge), {w("val"): "single", w("sz"): "8", w("space"): "0", w("color"): "000000"})
    # The text of tables (``finish`` gives it these styles): pandoc's Compact, small; the header row sans
    # and bold, as the HTML's th; identifiers smaller still, as in the PDF.
    _run(_part(_add_style(root, "TableText", "Table Text", "Compact"), "rPr"), points=size["small"])
    _run(_part(_add_style(root, "TableHeading", "Table Heading", "TableText"), "rPr"), font["heading"], bold=True)
    _run(_part(_add_style(root, "TableCode", "Table Code", "VerbatimChar", "character"), "rPr"), points=size["code"])
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _add_style(root: ET.Element, key: str, name: str, parent: str, kind: str = "paragraph") -> ET.Element:
    style = ET.SubElement(root, w("style"), {w("type"): kind, w("customStyle"): "1", w("styleId"): key})
    ET.SubElement(style, w("name"), {w("val"): name})
    ET.SubElement(style, w("basedOn"), {w("val"): parent})
    ET.SubElement(style, w("qFormat"))
    return style


def _part(parent: ET.Element, tag: str, order: str = STYLE_ORDER) -> ET.Element:
    """``parent``'s child ``tag``, added in its place in ``order`` when missing."""
    found = parent.find(w(tag))
    if found is None:
        found = ET.Element(w(tag))
        names = order.split()
        after = [i for i, child in enumerate(parent) if names.index(_local(child)) < names.index(tag)]
        parent.insert(after[-1] + 1 if after else 0, found)
    return found


def _local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[1]


def _run(rpr: ET.Element, face: str | None = None, points: float | None = None, bold=None, italic=None) -> None:
    """Set a style's run properties: its face (every script), size, weight, slant; any colour is removed."""
    for child in list(rpr):
        name = _local(child)
        if (
            name == "color"
            or (face and name == "rFonts")
            or (points and name in ("sz", "szCs"))
            or (bold is not None and name in ("b", "bCs"))
            or (italic is not None and name in ("i", "iCs"))
        ):
            rpr.remove(child)
    if face:
        ET.SubElement(rpr, w("rFonts"), {w(k): face for k in ("ascii", "hAnsi", "eastAsia", "cs")})
    if points:
        for name in ("sz", "szCs"):
            ET.SubElement(rpr, w(name), {w("val"): str(round(points * 2))})  # half-points
    for flag, names in ((bold, ("b", "bCs")), (italic, ("i", "iCs"))):
        for name in names if flag else ():
            ET.SubElement(rpr, w(name))
    rpr[:] = sorted(rpr, key=lambda child: RPR_ORDER.split().index(_local(child)))


def _section(document: str) -> str:
    """The reference's one section on page.toml's paper and margins (pandoc copies it into every DOCX)."""
    paper, margin = page()["paper"], page()["margin"]
    mm = lambda value: str(round(value * TWIPS))
    size = f'<w:pgSz w:w="{mm(paper["width_mm"])}" w:h="{mm(paper["height_mm"])}"/>'
    margins = (
        f'<w:pgMar w:top="{mm(margin["top_mm"])}" w:right="{mm(margin["right_mm"])}" '
        f'w:bottom="{mm(margin["bottom_mm"])}" w:left="{mm(margin["left_mm"])}" w:header="709" w:footer="709" '
        'w:gutter="0"/>'
    )
    if document.count("<w:sectPr>") != 1 or document.count("</w:footnotePr>") != 1:
        raise ValueError("pandoc's reference document has no longer one section, ending in its footnote settings")
    return document.replace("</w:footnotePr>", "</w:footnotePr>" + size + margins)


def _write_zip(target: Path, entries: dict[str, bytes]) -> None:
    """The entries, in their order, each dated ZIP_DATE."""
    with zipfile.ZipFile(target, "w") as zout:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, data)


# Table columns. pandoc's DOCX writer sizes a table with a <colgroup> (report.css's "fixed" tables) at 100% of
# the text width, fixed layout, grid columns in the colgroup's proportions; a table without one ("auto") gets
# an automatic width and equal grid columns, and the widths are left to the word processor: Word fits them to
# the text, LibreOffice keeps the equal columns and breaks words inside ("Tersang|ka"). So every table's
# columns are set here, in twips and with a fixed layout, from the words pandoc wrote into them, measured in
# the DejaVu faces matplotlib ships (page.toml's): each column at least as wide as its longest word, the rest
# of the text width shared in the colgroup's proportions (fixed tables) or in those of each column's longest
# line (auto tables, much as a browser's automatic layout does). Words are what lies between spaces and the
# zero-width spaces of identifiers (html_parts.identifier). The tables that hold figures are left alone.
CELL_MARGINS = 2 * 108  # left and right, from the reference's table style (twips)
SLACK = 1.03  # the word processor's rounding: a word measured to fit must fit
_WORD_BREAK = re.compile("[\\s\u200b]")


def finish(docx: Path, title: str = "") -> None:
    """Give every table of the DOCX pandoc wrote columns that fit their longest word (see above), and the
    document its title in its properties (pandoc's title would also print a second title on the first page).
    The other entries and every entry's date (pandoc's: SOURCE_DATE_EPOCH) are kept."""
    from xml.sax.saxutils import escape

    with zipfile.ZipFile(docx) as zin:
        entries = [(info, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(docx, "w") as zout:
        for info, data in entries:
            if info.filename == "word/document.xml":
                tables = re.sub(r"<w:tbl>.*?</w:tbl>", lambda t: _fit(t.group(0)), data.decode("utf-8"), flags=re.S)
                data = tables.encode("utf-8")
            elif info.filename == "docProps/core.xml" and title:
                named = f"<dc:title>{escape(title)}</dc:title>"
                core = re.sub(r"<dc:title>.*?</dc:title>|<dc:title/>", named, data.decode("utf-8"), count=1)
                data = core.encode("utf-8")
            zout.writestr(info, data)


def _fit(table: str) -> str:
    grid = re.findall(r'<w:gridCol w:w="(\d+)" />', table)
    rows = re.findall(r"<w:tr>.*?</w:tr>", table, re.S)
    cells = [re.findall(r"<w:tc>.*?</w:tc>", row, re.S) for row in rows]
    if '<w:tblStyle w:val="Table" />' not in table or any(len(row) != len(grid) for row in cells):
        return table  # a figure's frame, or merged cells: as pandoc made them
    header = "<w:tblHeader" in rows[0]
    sizes = [[_measure(cell, header and i == 0) for cell in row] for i, row in enumerate(cells)]
    word = [max(size[0] for size in column) * SLACK + CELL_MARGINS for column in zip(*sizes)]
    line = [max(size[1] for size in column) + CELL_MARGINS for column in zip(*sizes)]
    fixed = '<w:tblLayout w:type="fixed" />' in table
    total = round(text_width_mm() * TWIPS)
    widths = _share(word, [int(x) for x in grid] if fixed else line, total)

    table = table.replace('<w:tblLayout w:type="fixed" />', "")
    table = re.sub(r"<w:tblW [^>]*/>", f'<w:tblW w:type="dxa" w:w="{total}" /><w:tblLayout w:type="fixed" />', table)
    cols = "".join(f'<w:gridCol w:w="{x}" />' for x in widths)
    table = re.sub(r"<w:tblGrid>.*?</w:tblGrid>", f"<w:tblGrid>{cols}</w:tblGrid>", table, flags=re.S)
    number = itertools.count()
    return re.sub(
        r"<w:tr>.*?</w:tr>", lambda row: _row(row.group(0), widths, header and next(number) == 0), table, flags=re.S
    )


def _row(row: str, widths: list[int], header: bool) -> str:
    """A row whose cells have their widths, whose paragraphs are Table Text (or Table Heading) and whose code
    is Table Code."""
    style = "TableHeading" if header else "TableText"
    row = row.replace('<w:pStyle w:val="Compact" />', f'<w:pStyle w:val="{style}" />')
    row = row.replace('<w:rStyle w:val="VerbatimChar" />', '<w:rStyle w:val="TableCode" />')
    column = iter(widths)
    return re.sub(
        r"<w:tc>(<w:tcPr */>|<w:tcPr>)?",
        lambda m: (
            f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{next(column)}" />'
            + ("" if m.group(1) == "<w:tcPr>" else "</w:tcPr>")
        ),
        row,
    )


def _measure(cell: str, header: bool) -> tuple[float, float]:
    """The widths (twips) of a cell's longest word and of its longest paragraph set on one line."""
    word = line = 0.0
    for paragraph in re.findall(r"<w:p\b.*?</w:p>", cell, re.S):
        words, length = [0.0], 0.0
        for run in re.findall(r"<w:r\b.*?</w:r>", paragraph, re.S):
            face = _face(header, mono="VerbatimChar" in run, bold=header or bool(re.search(r"<w:b */>", run)))
            for char in unescape("".join(re.findall(r"<w:t\b[^>]*>([^<]*)</w:t>", run))):
                advance = _advance(face, char)
                length += advance
                if _WORD_BREAK.match(char):
                    words.append(0.0)
                else:
                    words[-1] += advance
        word, line = max(word, *words), max(line, length)
    return word, line


@cache
def _face(header: bool, mono: bool, bold: bool):
    """The face a table's text is set in (page.toml's font, as matplotlib ships it) at its size."""
    from matplotlib.ft2font import FT2Font

    font, size = page()["font"], page()["size"]
    name = font["mono"] if mono else font["heading"] if header else font["body"]
    face = FT2Font(str(font_folder() / (name.replace(" ", "") + ("-Bold" if bold else "") + ".ttf")))
    face.set_size(size["code"] if mono else size["small"], 72)  # at 72 dpi a pixel is a point
    return face


@cache
def _advance(face, char: str) -> float:
    """The advance of ``char`` in ``face``, in twips."""
    if char == "\u200b":
        return 0.0
    return face.load_glyph(face.get_char_index(ord(char))).linearHoriAdvance / 65536 * 20  # a missing one: its box


def _share(least: list[float], weights: list[float], total: int) -> list[int]:
    """Widths that sum to ``total`` in proportion to ``weights``, none below ``least``: a column that would be
    is held at its least and the others share the rest."""
    if sum(least) > total:
        # Not every word fits: the column of the longest word gives way (a checksum breaks, the file names
        # beside it do not), unless it would be left narrower than an equal share; then every column gives way.
        widest = least.index(max(least))
        rest = total - (sum(least) - least[widest])
        if rest < total / len(least):
            return _whole([x * total / sum(least) for x in least], total)
        return _whole(least[:widest] + [rest] + least[widest + 1 :], total)
    weights = [max(x, 1.0) for x in weights]
    held: set[int] = set()
    while True:
        free = total - sum(least[i] for i in held)
        share = sum(weights[i] for i in range(len(weights)) if i not in held)
        widths = [least[i] if i in held else free * weights[i] / share for i in range(len(weights))]
        short = {i for i, x in enumerate(widths) if x < least[i]}
        if not short:
            return _whole(widths, total)
        held |= short


def _whole(widths: list[float], total: int) -> list[int]:
    """Whole twips, summing to ``total`` (the last column takes the rounding)."""
    whole = [round(x) for x in widths]
    whole[-1] += total - sum(whole)
    return whole
