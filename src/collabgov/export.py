"""Export the executed report notebook: self-contained HTML, A4 PDF (pandoc -> Typst) and DOCX (pandoc).

The HTML carries everything it shows (images as data URIs) and loads nothing. The converters are a
second wall behind the site checks: pandoc and Typst get a copy of the page whose every image is a file
the export wrote itself into a scratch folder, which is their only resource path (Typst's root). Anything
else that names an outside resource stops the export."""

from __future__ import annotations

import base64
import html as htmllib
import re
from collections.abc import Sequence
from functools import cache
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

from .html_parts import DRAFT_MARK
from .i18n import label

_DATA_URI = re.compile(r'src="data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)"')
_LINKED = re.compile(r"^image-\d{3}\.(png|jpeg)$")


class OutsideResource(Exception):
    """The page to be converted names a resource outside the build (a bug, or an input that got through)."""


def export_html(executed: Path, target: Path, lang: str, title: str, draft: bool = False) -> None:
    """Executed report notebook -> self-contained HTML: no code, no prompts, nothing fetched online."""
    import nbformat

    target.write_text(_html(nbformat.read(executed, as_version=4), lang, title, draft), "utf-8")


def _html(nb, lang: str, title: str, draft: bool) -> str:
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    for cell in nb.cells:  # the report is what its cells display; what a kernel logs is not part of it
        cell["outputs"] = [out for out in cell.get("outputs", []) if out.get("output_type") != "stream"]
    config = Config()
    config.HTMLExporter.extra_template_basedirs = [str(resources.files("collabgov").joinpath("nbtemplates"))]
    config.HTMLExporter.template_name = "report"
    config.HTMLExporter.exclude_input = True
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.HTMLExporter.exclude_markdown = True  # the notebook's own notes are for readers of the notebook
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = ("parameters", "injected-parameters")
    nb.metadata["title"] = title
    css = resources.files("collabgov").joinpath("static/report.css").read_text("utf-8")
    resources_ = {
        "report_css": css,
        "report_lang": lang,
        "draft": draft,
        "draft_text": label("report.draft_banner", lang),
    }
    body, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources_)
    return body


def check_resources(text: str, allowed) -> None:
    """Raise OutsideResource when the page names a resource that ``allowed(value)`` does not accept."""
    parser = _Resources()
    parser.feed(text)
    outside = [value for value in parser.found if not allowed(value)]
    if outside:
        raise OutsideResource(outside[0][:80])


PAGE = "page.toml"  # the printed page: size, margins, fonts, sizes (read by the template, plotting, tests)


@cache
def page() -> dict:
    """The printed page of every report (``page.toml``), read once; not to be changed by its readers."""
    import tomllib

    return tomllib.loads(resources.files("collabgov").joinpath(PAGE).read_text("utf-8"))


def text_width_mm() -> float:
    """The width of the page's text column (the template computes the same from page.toml)."""
    return page()["paper"]["width_mm"] - page()["margin"]["left_mm"] - page()["margin"]["right_mm"]


def font_folder() -> Path:
    """The DejaVu fonts that ship inside matplotlib: the faces of the figures, and the only ones the PDF uses."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def typst_source(html: Path, scratch: Path, marks: Sequence[str] = ()) -> Path:
    """The report as Typst, written into ``scratch`` beside its images and page.toml: pandoc reads the page
    with linked images and writes it through pdf/report.lua into the template pdf/report.typ. ``marks``
    (SYNTHETIC, DRAFT) are printed at the top of every page."""
    import pypandoc

    linked = link_images(html, scratch)
    package = resources.files("collabgov")
    (scratch / PAGE).write_text(package.joinpath(PAGE).read_text("utf-8"), "utf-8")
    args = [
        "--template",
        str(package.joinpath("pdf/report.typ")),
        "--lua-filter",
        str(package.joinpath("pdf/report.lua")),
    ]
    if marks:
        args += ["--variable", "page-mark=" + " · ".join(marks)]
        args += ["--variable", "page-mark-colour=" + ("#b00000" if DRAFT_MARK in marks else "#000000")]
    target = scratch / "report.typ"
    text = pypandoc.convert_file(str(linked), "typst", format="html", extra_args=args, cworkdir=str(scratch))
    target.write_text(text, "utf-8")
    return target


def export_pdf(html: Path, target: Path, scratch: Path, marks: Sequence[str] = (), epoch: int = 0) -> None:
    """HTML -> A4 PDF: Typst typesets ``typst_source`` with the fonts of ``font_folder`` and no system font
    or library. The PDF is tagged and checked by Typst against PDF/UA-1 (alt text on every image, the
    document's language, table headers), and dated ``epoch`` (SOURCE_DATE_EPOCH): the same page gives
    the same bytes."""
    import typst

    source = typst_source(html, scratch, marks)
    typst.compile(
        str(source),
        output=str(target),
        root=str(scratch),
        font_paths=[str(font_folder())],
        ignore_system_fonts=True,
        timestamp=epoch,
        pdf_standards=["ua-1"],
    )


class _Resources(HTMLParser):
    """Every attribute of a page that makes a converter fetch something."""

    FETCHED = {"src", "srcset", "data", "poster", "background", "xlink:href"}

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in self.FETCHED or (tag == "link" and name == "href"):
                self.found.append(value or "")


def link_images(html: Path, folder: Path) -> Path:
    """A copy of the self-contained report whose images are files in ``folder`` rather than data URIs.

    The PDF and the DOCX are made from this copy: pandoc reads a 1.5 MB attribute of base64 slowly, and
    Typst reads images from files. The images are the same bytes, named by their order in the page."""
    count = 0

    def write(match: re.Match) -> str:
        nonlocal count
        count += 1
        name = f"image-{count:03d}.{match.group(1)}"
        (folder / name).write_bytes(base64.b64decode(match.group(2)))
        return f'src="{name}"'

    target = folder / html.name
    text = _DATA_URI.sub(write, html.read_text("utf-8"))
    check_resources(text, _LINKED.match)
    target.write_text(text, "utf-8")
    return target


def export_docx(html: Path, target: Path, scratch: Path) -> None:
    """HTML -> DOCX with pandoc (bundled by pypandoc_binary), for journals that ask for Word files.

    pandoc reads the page and the images ``link_images`` wrote into ``scratch``, and nothing else: the
    scratch folder is its only resource path and the page has been checked to name nothing outside it.
    The styles and the page are those of a reference document made from page.toml, and the tables'
    columns are set to fit their words (``docx_style``)."""
    import pypandoc

    from . import docx_style

    linked = link_images(html, scratch)
    linked.write_text(docx_style.align_numbers(linked.read_text("utf-8")), "utf-8")
    reference = docx_style.write_reference(scratch / "reference.docx")
    pypandoc.convert_file(
        str(linked),
        "docx",
        format="html",
        outputfile=str(target),
        extra_args=["--resource-path", str(scratch), "--metadata", "title=", "--reference-doc", str(reference)],
        cworkdir=str(scratch),
    )
    title = re.search(r"<title>(.*?)</title>", html.read_text("utf-8"), flags=re.S)
    docx_style.finish(target, htmllib.unescape(title.group(1)).strip() if title else "")


def mark_docx_draft(path: Path) -> None:
    """Give every page of a DOCX a header saying DRAFT. The zip is rewritten entry by entry with the same
    dates, so the same document gives the same bytes."""
    import zipfile

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    header = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:hdr xmlns:w="{w}">'
        '<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:rPr><w:b/><w:color w:val="B00000"/></w:rPr>'
        f"<w:t>{DRAFT_MARK}</w:t></w:r></w:p></w:hdr>"
    )
    reference = '<w:headerReference w:type="default" r:id="rIdDraftHeader"/>'
    with zipfile.ZipFile(path) as zin:
        entries = [(info, zin.read(info)) for info in zin.infolist()]
    out = []
    for info, data in entries:
        text = data.decode("utf-8") if info.filename.endswith((".xml", ".rels")) else None
        if info.filename == "word/document.xml":
            if re.search(r"<w:sectPr\b[^>]*/>", text):
                text = re.sub(r"<w:sectPr\b([^>]*)/>", rf"<w:sectPr\1>{reference}</w:sectPr>", text, count=1)
            elif "<w:sectPr" in text:
                text = re.sub(r"(<w:sectPr\b[^>]*>)", rf"\1{reference}", text, count=1)
            else:
                text = text.replace("</w:body>", f"<w:sectPr>{reference}</w:sectPr></w:body>")
            out.append((info, text.encode("utf-8")))
            added = zipfile.ZipInfo("word/header1.xml", date_time=info.date_time)
            added.compress_type = zipfile.ZIP_DEFLATED
            out.append((added, header.encode("utf-8")))
        elif info.filename == "word/_rels/document.xml.rels":
            rel = (
                '<Relationship Id="rIdDraftHeader" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                'relationships/header" Target="header1.xml"/>'
            )
            out.append((info, text.replace("</Relationships>", rel + "</Relationships>").encode("utf-8")))
        elif info.filename == "[Content_Types].xml":
            part = (
                '<Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-'
                'officedocument.wordprocessingml.header+xml"/>'
            )
            out.append((info, text.replace("</Types>", part + "</Types>").encode("utf-8")))
        else:
            out.append((info, data))
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zout:
        for info, data in out:
            zout.writestr(info, data)
    tmp.replace(path)
