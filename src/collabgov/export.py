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

_DATA_URI = re.compile(r'src="data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)"')
_LINKED = re.compile(r"^image-\d{3}\.(png|jpeg)$")


class OutsideResource(Exception):
    """The page to be converted names a resource outside the build (a bug, or an input that got through)."""


def export_html(executed: Path, target: Path, lang: str, title: str, draft: bool = False) -> None:
    """Executed report notebook -> self-contained HTML: no code, no prompts, nothing fetched online."""
    import nbformat
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
    nb = nbformat.read(executed, as_version=4)
    nb.metadata["title"] = title
    css = resources.files("collabgov").joinpath("static/report.css").read_text("utf-8")
    body, _ = HTMLExporter(config=config).from_notebook_node(
        nb, resources={"report_css": css, "report_lang": lang, "draft": draft}
    )
    target.write_text(body, "utf-8")


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


def preload() -> None:
    """Import the exporters once, in the build process, before it forks its workers."""
    import nbformat  # noqa: F401
    import pypandoc  # noqa: F401
    from nbconvert import HTMLExporter  # noqa: F401

    _import_weasyprint()
