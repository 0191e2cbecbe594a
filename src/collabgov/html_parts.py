"""The HTML pieces every page of the compendium is made of: escaped text, numbered tables and figures.

The report, the comparison report and the figure gallery all build their tables and figures here,
so that they look alike and everything that comes from data is escaped in one place.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .i18n import label

DRAFT_MARK = "DRAF / DRAFT"  # on every page of a draft: the PDF's page header, the DOCX's header, the gallery


class Fragment(str):
    """HTML that Jupyter displays as HTML (and nbconvert copies into the exported page)."""

    def _repr_html_(self) -> str:
        return str(self)


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def identifier(name) -> str:
    """An identifier from the data (a code, a key of site.yaml) as code, breakable after '_' and '.' only."""
    return "<code>" + esc(name).replace("_", "_\u200b").replace(".", ".\u200b") + "</code>"


def table_html(
    key: str,
    number: str,
    head: list[str],
    rows: list[list[str]],
    title: str,
    source: str,
    lang: str,
    numeric_from: int = 1,
    widths: list[int] | None = None,
    code_columns: tuple[int, ...] = (),
) -> str:
    """A numbered table (``number`` such as "Tabel 3"): title above, source below. Columns from
    ``numeric_from`` on are numbers, right-aligned under right-aligned headers; ``widths`` (percent) fix
    the columns of text-heavy tables; ``code_columns`` hold identifiers from the data (shown as code)."""
    kind = lambda i: "num" if i >= numeric_from else "txt"
    cell = lambda i, v: identifier(v) if i in code_columns and v not in ("–", "") else esc(v)
    cells = "".join(f"<th scope='col' class='{kind(i)}'>{esc(h)}</th>" for i, h in enumerate(head))
    cols = "<colgroup>" + "".join(f"<col style='width:{w}%'>" for w in widths) + "</colgroup>" if widths else ""
    body = "".join(
        "<tr>" + "".join(f"<td class='{kind(i)}'>{cell(i, v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    classes = "fixed" if widths else "auto"
    return (
        f"<div class='table-block' id='table-{esc(key)}'><table class='{classes}'>"
        f"<caption>{esc(number)}. {esc(title)}</caption>{cols}"
        f"<thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"
        f"<div class='source'>{esc(label('report.source', lang))}: {esc(source)}</div></div>"
    )


def figure_html(
    key: str,
    number: str,
    png: Path | None,
    alt: str,
    caption: str,
    lang: str,
    source: str | None = None,
    uri: str | None = None,
) -> str:
    """A numbered figure embedded as a data URI (the page stands alone), with alt text and the caption below."""
    if uri is None:
        uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
    source_text = f" {esc(label('report.source', lang))}: {esc(str(source).rstrip('.'))}." if source else ""
    return (
        f"<figure id='figure-{esc(key)}'><img src='{uri}' alt='{esc(alt)}'/>"
        f"<figcaption>{esc(number)}. {esc(caption.rstrip('.'))}.{source_text}</figcaption></figure>"
    )


def placeholder_figure_html(key: str, number: str, caption: str, note: str, lang: str, source: str) -> str:
    """A numbered figure that is not reproduced: a frame with a note in place of the image, and its caption."""
    return (
        f"<figure id='figure-{esc(key)}' class='placeholder'><div class='placeholder-box' role='img' "
        f"aria-label='{esc(note)}'>{esc(note)}</div>"
        f"<figcaption>{esc(number)}. {esc(caption.rstrip('.'))}. {esc(label('report.source', lang))}: "
        f"{esc(str(source).rstrip('.'))}.</figcaption>"
        f"</figure>"
    )
