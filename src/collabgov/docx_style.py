"""The look of the DOCX report: the printed page of page.toml, DejaVu faces, black headings.

pandoc styles a DOCX after a reference document (``--reference-doc``): ``write_reference`` makes one from
pandoc's own (``pandoc --print-default-data-file reference.docx``) with page.toml's paper, margins, fonts
and sizes. Its zip entries have one fixed date, so that it is the same bytes every time."""

from __future__ import annotations

import io
import re
import subprocess
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from functools import cache
from importlib import resources
from pathlib import Path

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


@cache
def page() -> dict:
    """The printed page of every report (page.toml)."""
    return tomllib.loads(resources.files("collabgov").joinpath("page.toml").read_text("utf-8"))


def write_reference(target: Path) -> Path:
    """pandoc's reference DOCX on page.toml's page: A4, its margins, DejaVu Serif text, DejaVu Sans headings
    and captions in black, DejaVu Sans Mono code."""
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
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


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
