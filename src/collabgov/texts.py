"""The site's narrative: ``text/<lang>/<section>.md``, Markdown with placeholders for numbers.

A text refers to numbers only through placeholders (``{{ cases_total }}``, ``{{ table:cases }}``),
looked up, never evaluated. Markdown is rendered with raw HTML switched off. Images may only be
files inside the site folder (PNG or JPEG), written relative to it (``images/photo.png``), embedded
into the page; links may only point to the web
(``http``, ``https``, ``mailto``) or within the page. ``check`` finds every problem of a text at
validate time, with its line: unknown placeholders, placeholders left unfilled (``[TULIS: ...]``),
raw HTML, images or links that lead anywhere else.
"""

from __future__ import annotations

import base64
import difflib
import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt

from .errors import WARNING, Problem, display_path, line_at
from .i18n import message
from .inputs import Refused, glob, read_bytes

# The narrative files every site has, in each of its languages (text/<lang>/<name>.md), in report order;
# a site may add text/<lang>/stage_<code>.md for any stage.
SECTIONS = [
    "abstract",
    "background",
    "background_cases",
    "background_process",
    "aim",
    "theory",
    "method",
    "coded_data",
    "results",
    "conclusions",
    "recommendations",
    "references",
]

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_:.-]+)\s*\}\}")
# what looks meant as a placeholder but is not one ({{ cases total }}, {{ x }, {% if %}): printed as written
BRACES = re.compile(r"\{\{[^\n{}]*\}?\}?|\}\}|\{%[^\n]*?%\}|\{%|%\}")
TEMPLATE_TAG = re.compile(r"^\{%|%\}$")  # {% if %}, {% for %}: a text has no conditions or loops
# what the templates of a new site leave for the student to fill in
UNFILLED = re.compile(r"\[(?:TULIS|WRITE)\b[^\]]*\]", re.IGNORECASE)
MAX_TEXT_BYTES = 1024 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}
_LINK_SCHEMES = {"http", "https", "mailto"}

_RENDER = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
# The checking parser sees every link and raw HTML as written (the renderer would drop or escape them).
_CHECK = MarkdownIt("commonmark", {"html": True, "typographer": False}).enable("table")
_CHECK.validateLink = lambda url: True


def path_of(folder: Path, lang: str, section: str) -> Path:
    return folder / "text" / lang / f"{section}.md"


def read(folder: Path, lang: str, section: str, message_lang: str) -> str:
    """The Markdown source of one text (a missing or refused file is a DataError-ready Problem)."""
    try:
        data = read_bytes(path_of(folder, lang, section), folder, MAX_TEXT_BYTES)
    except Refused as exc:
        key = "text_missing" if exc.key == "file_missing" else exc.key
        raise TextProblem(
            Problem(display_path(exc.path), None, None, message(key, message_lang, **exc.values))
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # named with the line of the first byte that is not UTF-8
        shown = display_path(path_of(folder, lang, section))
        line = line_at(data, exc.start)
        raise TextProblem(Problem(shown, line, None, message("text_encoding", message_lang))) from None


class TextProblem(Exception):
    """A text that cannot be read, as the Problem to report."""

    def __init__(self, problem: Problem):
        self.problem = problem


def exists(folder: Path, lang: str, section: str) -> bool:
    """Whether an optional text (such as ``stage_<code>.md``) is there; the lookup is recorded as a read."""
    return bool(glob(path_of(folder, lang, section).parent, f"{section}.md", folder))


def _line(source: str, start_line: int, needle: str) -> int:
    lines = source.splitlines()
    for i in range(max(0, start_line), len(lines)):
        if needle and needle in lines[i]:
            return i + 1
    return start_line + 1


def _image_target(folder: Path, src: str) -> Path | None:
    """The file an image reference names (relative to the site folder, e.g. ``images/photo.png``), if it
    is a plain relative path that stays inside the site."""
    parts = urlsplit(src)
    if parts.scheme or parts.netloc or parts.query or not parts.path or src.startswith(("/", "\\")) or "\\" in src:
        return None
    relative = PurePosixPath(unquote(parts.path))
    if relative.is_absolute() or ".." in relative.parts:
        return None
    target = folder / relative
    try:
        target.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return None
    return target


def check(
    folder: Path,
    lang: str,
    section: str,
    known: set[str],
    message_lang: str,
    draft: bool = False,
    empty: dict[str, str] | None = None,
) -> list[Problem]:
    """Every problem of one text file, each with its line. ``empty``: known names that have nothing to say for
    this site (name -> message key), e.g. the claims' counts when the claims table holds none."""
    try:
        source = read(folder, lang, section, message_lang)
    except TextProblem as exc:
        return [exc.problem]
    shown = display_path(path_of(folder, lang, section))
    problems = []
    empty_cited: dict[str, tuple[int, list[str]]] = {}  # one line per reason, at its first use, naming them all
    placed = []
    for match in PLACEHOLDER.finditer(source):
        placed.append(match.span())
        key = match.group(1)
        line = line_at(source, match.start())
        if key not in known:
            said = message("placeholder_unknown", message_lang, known=_closest(key, known))
            problems.append(Problem(shown, line, key, said))
        elif key in (empty or {}):
            names = empty_cited.setdefault(empty[key], (line, []))[1]
            names += [key] if key not in names else []
    stray = [
        (m.start(), m.group(0))
        for m in BRACES.finditer(source)
        if not any(start <= m.start() < end for start, end in placed)
    ]
    for start, end in placed:  # a brace too many: {{{ name }}} or {{ name }}}
        wide = (start - (source[start - 1 : start] == "{"), end + (source[end : end + 1] == "}"))
        if wide != (start, end):
            stray.append((wide[0], source[wide[0] : wide[1]]))
    for at, found in sorted(stray):
        line = line_at(source, at)
        if TEMPLATE_TAG.search(found):
            said = message("template_tag", message_lang, found=short(found))
        else:
            inside = re.sub(r"\W+", "_", found.strip("{}% ")).strip("_")
            close = _closest(inside, known, fallback=False) if inside else ""
            said = message("placeholder_malformed", message_lang, found=short(found), known=close or "–")
        problems.append(Problem(shown, line, None, said))
    for reason, (line, names) in empty_cited.items():
        problems.append(Problem(shown, line, ", ".join(names), message(reason, message_lang)))
    for match in UNFILLED.finditer(source):
        line = line_at(source, match.start())
        level = WARNING if draft else "error"
        problems.append(
            Problem(shown, line, None, message("unfilled", message_lang, found=short(match.group(0))), level)
        )
    # In CommonMark an image, a link and HTML each need a '[' or a '<': a text with neither has nothing below to
    # check, and parsing it is most of what checking a text costs (make validate reads every text of a site).
    tokens = _walk(_CHECK.parse(source)) if "[" in source or "<" in source else []
    for token in tokens:
        start = token.map[0] if token.map else 0
        if token.type in ("html_inline", "html_block"):
            problems.append(
                Problem(
                    shown,
                    _line(source, start, token.content.strip()[:20]),
                    None,
                    message("text_raw_html", message_lang),
                )
            )
        elif token.type == "image":
            src = token.attrs.get("src", "")
            try:
                site_image(folder, src, message_lang)
            except TextProblem as exc:
                problems.append(Problem(shown, _line(source, start, src), None, exc.problem.message))
        elif token.type == "link_open":
            href = token.attrs.get("href", "")
            scheme = urlsplit(href).scheme.lower()
            if not (href.startswith("#") or scheme in _LINK_SCHEMES):
                problems.append(
                    Problem(
                        shown,
                        _line(source, start, href),
                        None,
                        message("text_link_refused", message_lang, href=href[:60]),
                    )
                )
    return problems


def _closest(key: str, known: set[str], n: int = 6, fallback: bool = True) -> str:
    """The known names a mistyped ``key`` most likely meant: those it begins, then the most alike (with
    ``fallback``, a few names when none is alike)."""
    names = sorted(known)
    found = [k for k in names if k.startswith(key)][:n]
    found += [k for k in difflib.get_close_matches(key, names, n=n, cutoff=0.5) if k not in found]
    found = found[:n] or ([k for k in names if ":" not in k][:n] if fallback else [])
    return ", ".join(found)


def _walk(tokens):
    for token in tokens:
        yield token
        if token.children:
            for child in token.children:
                if child.map is None:
                    child.map = token.map
                yield child


def site_image(folder: Path, src: str, lang: str) -> tuple[str, bytes]:
    """The image ``src`` names (a relative path inside the site folder, e.g. ``images/rapat.jpg``) as its
    kind and bytes; TextProblem when it leads outside the folder, cannot be read or is not PNG or JPEG."""
    target = _image_target(folder, src)
    if target is None:
        raise TextProblem(Problem(display_path(folder), None, None, message("text_image_outside", lang, src=src[:60])))
    try:
        return _image_data(folder, target, lang)
    except TextProblem as exc:
        detail = message("text_image_unreadable", lang, src=src[:60], detail=exc.problem.message)
        raise TextProblem(Problem(exc.problem.file, None, None, detail)) from None


def _image_data(folder: Path, target: Path, lang: str) -> tuple[str, bytes]:
    try:
        data = read_bytes(target, folder, MAX_IMAGE_BYTES)
    except Refused as exc:
        raise TextProblem(exc.problem(lang)) from None
    kind = next((k for magic, k in _IMAGE_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise TextProblem(Problem(display_path(target), None, None, message("text_image_type", lang)))
    return kind, data


def render(folder: Path, lang: str, section: str, fill, message_lang: str) -> str:
    """One text as HTML: placeholders filled by ``fill(key) -> str``, images embedded as data URIs."""
    source = read(folder, lang, section, message_lang)
    filled = PLACEHOLDER.sub(lambda m: fill(m.group(1)), source)
    tokens = _RENDER.parse(filled)
    for token in _walk(tokens):
        if token.type == "image":
            kind, data = site_image(folder, token.attrs.get("src", ""), message_lang)
            token.attrs["src"] = f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"
    return f"<div class='narrative' lang='{lang}'>{_RENDER.renderer.render(tokens, _RENDER.options, {})}</div>"


def short(placeholder: str, width: int = 40) -> str:
    """``[TULIS: a long instruction ...]`` as a message quotes it."""
    return placeholder if len(placeholder) <= width else placeholder[: width - 2].rstrip() + " …]"


def unfilled_in(value, path: str = "") -> list[tuple[str, str]]:
    """(key path, placeholder) for every ``[TULIS: ...]`` left in a nested value (site.yaml, table cells)."""
    if isinstance(value, str):
        match = UNFILLED.search(value)
        return [(path, short(match.group(0)))] if match else []
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in unfilled_in(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in unfilled_in(v, f"{path}[{i}]")]
    return []
