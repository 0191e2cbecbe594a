"""Export the executed report notebook: self-contained HTML, A4 PDF (WeasyPrint) and DOCX (pandoc).

The HTML carries everything it shows (images as data URIs) and loads nothing. The converters are a
second wall behind the site checks: WeasyPrint gets a URL fetcher that serves data URIs only, and
pandoc gets a copy of the page whose every image is a file the export wrote itself into a scratch
folder, which is pandoc's only resource path. Anything else that names an outside resource stops
the export."""

from __future__ import annotations

import base64
import logging
import re
import warnings
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
        "draft_mark": DRAFT_MARK,
        "draft_text": label("report.draft_banner", lang),
    }
    body, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources_)
    return body


def _fetcher():
    """WeasyPrint's URL fetcher for the report: data URIs only. Anything else (a file, the network)
    stops the export: WeasyPrint would otherwise skip a refused resource with a warning."""
    weasyprint = _import_weasyprint()
    from weasyprint.urls import FatalURLFetchingError

    class DataOnly(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith("data:"):
                raise FatalURLFetchingError(f"{OutsideResource.__name__}: {url[:80]}")
            return super().fetch(url, headers)

    return DataOnly(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=True)


def check_resources(text: str, allowed) -> None:
    """Raise OutsideResource when the page names a resource that ``allowed(value)`` does not accept."""
    parser = _Resources()
    parser.feed(text)
    outside = [value for value in parser.found if not allowed(value)]
    if outside:
        raise OutsideResource(outside[0][:80])


def export_pdf(html: Path, target: Path) -> None:
    """HTML -> A4 PDF with page numbers (WeasyPrint: offline, deterministic for the same input)."""
    weasyprint = _import_weasyprint()
    text = html.read_text("utf-8")
    check_resources(text, lambda value: value.startswith("data:"))
    page = weasyprint.HTML(string=text, base_url=None, url_fetcher=_fetcher())
    page.write_pdf(str(target))


def _import_weasyprint():
    warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)  # fontTools subsets
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasyprint


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

    The DOCX is made from this copy: pandoc reads a 1.5 MB attribute of base64 slowly (about 2 s
    against 0.4 s for the same report with linked images, measured on Pujud). The images are the same
    bytes. The PDF is not: WeasyPrint names each image in the PDF after its URL, so a linked image in a
    temporary folder would give a different PDF on every build."""
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
    scratch folder is its only resource path and the page has been checked to name nothing outside it."""
    import pypandoc

    linked = link_images(html, scratch)
    pypandoc.convert_file(
        str(linked),
        "docx",
        format="html",
        outputfile=str(target),
        extra_args=["--resource-path", str(scratch), "--metadata", "title="],
        cworkdir=str(scratch),
    )


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
