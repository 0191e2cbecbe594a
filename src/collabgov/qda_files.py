"""Import coded data written by QDA tools into a site's tables.

* REFI-QDA project exchange files (``.qdpx``): a zip holding one ``.qde`` XML file (any name) and a
  ``sources``/``Sources`` folder. Codes (nested), users (as coders), cases and their variables (as
  informant attributes) and text sources with character offsets are read; GUIDs are not stable
  across tools, so codes are matched by name. The zip is read in memory, never extracted: members
  outside the archive's own folder, oversized members and zip bombs are refused.
* Taguette highlight exports (CSV or XLSX: ``id, document, tag, content``; no offsets, no coder) and
  codebook exports (``tag, description, number of highlights``); a nested tag is ``parent.child``.

What an import becomes in the site's tables is ``site_import``'s work.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import DataError, Problem, display_path
from .i18n import message
from .tables import read_table, validate_table

NS = "urn:QDA-XML:project:1.0"
MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200


def slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "x"


@dataclass
class Imported:
    """What a QDA file holds, in the compendium's terms."""

    tool: str
    codes: list[dict] = field(default_factory=list)  # {name, path, parent_path}
    informants: list[dict] = field(default_factory=list)  # {informant_id, role, attributes}
    sources: list[dict] = field(default_factory=list)  # {source, characters, informant}
    codings: list[dict] = field(default_factory=list)  # {source, start, end, text, coder, codes: [path]}


# --- REFI-QDA ---------------------------------------------------------------------------------


def _refuse(shown: str, column: str | None, key: str, lang: str, **values) -> DataError:
    return DataError([Problem(shown, None, column, message(key, lang, **values))])


def _safe_members(zf: zipfile.ZipFile, shown: str, lang: str) -> dict[str, zipfile.ZipInfo]:
    members, total = {}, 0
    for info in zf.infolist():
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts:
            raise _refuse(shown, None, "qdpx_outside", lang, member=info.filename)
        total += info.file_size
        ratio = info.file_size / max(1, info.compress_size)
        if (
            info.file_size > MAX_MEMBER_BYTES
            or total > MAX_TOTAL_BYTES
            or (info.file_size > 1_000_000 and ratio > MAX_RATIO)
        ):
            raise _refuse(shown, None, "qdpx_too_big", lang, member=info.filename, size=info.file_size)
        members[str(path)] = info
    return members


def read_qdpx(path: Path, lang: str = "en") -> Imported:
    from xml.etree.ElementTree import ParseError

    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    shown = display_path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise _refuse(shown, None, "qdpx_unreadable", lang, detail=type(exc).__name__) from None
    with zf:
        members = _safe_members(zf, shown, lang)
        projects = [m for m in members if m.lower().endswith(".qde")]
        if len(projects) != 1:
            raise _refuse(shown, None, "qdpx_projects", lang, found=len(projects))
        try:
            root = ElementTree.fromstring(_member(zf, members[projects[0]], shown, lang))
        except LookupError:  # an encoding Python does not know, declared in the XML's first line
            raise _refuse(shown, projects[0], "qdpx_bad_xml", lang, detail=message("xml_encoding", lang)) from None
        except (ParseError, DefusedXmlException, ValueError) as exc:
            line, column = getattr(exc, "position", (None, None))
            where = message("xml_position", lang, line=line, column=column) if line else type(exc).__name__
            raise _refuse(shown, projects[0], "qdpx_bad_xml", lang, detail=where) from None
        if root.tag != f"{{{NS}}}Project":
            raise _refuse(shown, projects[0], "qdpx_namespace", lang, namespace=NS, found=root.tag)
        q = lambda tag: f"{{{NS}}}{tag}"
        out = Imported(tool=root.get("origin") or "REFI-QDA")
        users = {u.get("guid"): u.get("name") or u.get("guid") for u in root.iter(q("User"))}

        codes: dict[str, str] = {}

        def walk(element, parent_path):
            for code in element.findall(q("Code")):
                name = (code.get("name") or "").strip()
                code_path = f"{parent_path}/{name}" if parent_path else name
                codes[code.get("guid")] = code_path
                described = code.find(q("Description"))
                description = (described.text or "").strip() if described is not None else None
                out.codes.append(
                    {"name": name, "path": code_path, "parent_path": parent_path, "description": description or None}
                )
                walk(code, code_path)

        book = root.find(q("CodeBook"))
        if book is not None and book.find(q("Codes")) is not None:
            walk(book.find(q("Codes")), None)

        variables = {v.get("guid"): v.get("name") for v in root.iter(q("Variable"))}
        source_case = {}
        for case in root.iter(q("Case")):
            attrs = {}
            for value in case.findall(q("VariableValue")):
                ref = value.find(q("VariableRef"))
                text = next((c.text for c in value if c.tag != q("VariableRef") and c.text), "")
                if ref is not None:
                    attrs[variables.get(ref.get("targetGUID"), ref.get("targetGUID"))] = (text or "").strip()
            informant = slug(case.get("name") or case.get("guid"))
            role = next(
                (v for k, v in attrs.items() if k and k.lower() in ("role", "peran", "jabatan", "position")), ""
            )
            out.informants.append(
                {"informant_id": informant, "role": role, "attributes": "; ".join(f"{k}={v}" for k, v in attrs.items())}
            )
            for ref in case.findall(q("SourceRef")):
                source_case[ref.get("targetGUID")] = informant

        folders = {m.split("/")[0].lower(): m.split("/")[0] for m in members if "/" in m}
        for source in root.iter(q("TextSource")):
            name = source.get("name") or source.get("guid")
            text = _source_text(zf, members, folders, source, q, shown, lang)
            informant = source_case.get(source.get("guid"), "unattributed")
            out.sources.append({"source": name, "characters": len(text), "informant": informant})
            for sel in source.findall(q("PlainTextSelection")):
                start, end = (
                    _position(sel, "startPosition", shown, name, lang),
                    _position(sel, "endPosition", shown, name, lang),
                )
                if not 0 <= start <= end <= len(text):
                    raise _refuse(shown, name, "qdpx_selection", lang, start=start, end=end, length=len(text))
                by_coder: dict[str, list[str]] = {}
                for coding in sel.findall(q("Coding")):
                    coder = users.get(
                        coding.get("creatingUser") or sel.get("creatingUser"),
                        coding.get("creatingUser") or sel.get("creatingUser") or "unknown",
                    )
                    ref = coding.find(q("CodeRef"))
                    if ref is not None and ref.get("targetGUID") in codes:
                        by_coder.setdefault(coder, []).append(codes[ref.get("targetGUID")])
                for coder, paths in by_coder.items():
                    out.codings.append(
                        {
                            "source": name,
                            "start": start,
                            "end": end,
                            "text": text[start:end],
                            "coder": coder,
                            "codes": paths,
                            "informant": informant,
                        }
                    )
    return out


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str, lang: str) -> bytes:
    """One member of the archive; a damaged or encrypted member is a refusal, not a traceback."""
    import zlib

    try:
        return zf.read(info)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise _refuse(shown, None, "qdpx_unreadable", lang, detail=type(exc).__name__) from None


def _source_text(zf, members, folders, source, q, shown, lang) -> str:
    inline = source.find(q("PlainTextContent"))
    if inline is not None:
        return inline.text or ""
    ref = source.get("plainTextPath") or ""
    name = ref[len("internal://") :] if ref.startswith("internal://") else ref
    if not name:
        return ""
    candidates = [f"{folders.get('sources', 'sources')}/{name}", name]
    for candidate in candidates:
        key = str(PurePosixPath(candidate))
        if key in members:
            return _member(zf, members[key], shown, lang).decode("utf-8-sig", errors="replace")
    raise _refuse(shown, source.get("name"), "qdpx_missing_source", lang, ref=ref)


def _position(selection, attribute: str, shown: str, source: str, lang: str) -> int:
    value = selection.get(attribute, "0")
    try:
        return int(value)
    except ValueError:
        raise _refuse(shown, source, "qdpx_position", lang, attribute=attribute, found=value) from None


# --- Taguette ---------------------------------------------------------------------------------


TAGUETTE_SEPARATOR = "."  # Taguette names a nested tag "parent.child"


def _taguette_code(out: Imported, seen: set, tag: str, description: str | None = None) -> str:
    """Add tag ``tag`` (and its parents) to ``out.codes`` once; return its path ('/'-separated, as REFI-QDA's)."""
    parts = [p.strip() for p in tag.split(TAGUETTE_SEPARATOR) if p.strip()] or [tag.strip()]
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        if path not in seen:
            seen.add(path)
            parent = "/".join(parts[: depth - 1]) or None
            out.codes.append(
                {
                    "name": parts[depth - 1],
                    "path": path,
                    "parent_path": parent,
                    "description": description if depth == len(parts) else None,
                }
            )
    return "/".join(parts)


def read_taguette(path: Path, lang: str = "en") -> Imported:
    """Taguette's highlights export (CSV or XLSX: id, document, tag, content; one row per highlight and tag)."""
    rows = validate_table(read_table(path, lang), "taguette", lang)
    out = Imported(tool="Taguette")
    seen, highlights = set(), {}
    for row in rows:
        code = _taguette_code(out, seen, row["tag"])
        h = highlights.setdefault(
            row["id"],
            {
                "source": row["document"],
                "start": None,
                "end": None,
                "text": row["content"] or "",
                "coder": "taguette",
                "codes": [],
                "informant": slug(row["document"]),
            },
        )
        h["codes"].append(code)
    out.codings = list(highlights.values())
    documents = dict.fromkeys(h["source"] for h in out.codings)
    out.sources = [{"source": d, "characters": None, "informant": slug(d)} for d in documents]
    out.informants = [{"informant_id": slug(d), "role": "", "attributes": f"document={d}"} for d in documents]
    return out


def read_taguette_codebook(path: Path, lang: str = "en") -> Imported:
    """Taguette's codebook export (tag, description, number of highlights[, number of documents]): codes only."""
    rows = validate_table(read_table(path, lang), "taguette_codebook", lang)
    out = Imported(tool="Taguette")
    seen: set = set()
    for row in rows:
        _taguette_code(out, seen, row["tag"], row.get("description"))
    return out


# --- which reader --------------------------------------------------------------------------------


def read_any(path: Path, lang: str = "en") -> Imported:
    """A REFI-QDA project (.qdpx), or a Taguette highlights or codebook export (.csv, .xlsx) by its header."""
    path = Path(path)
    if path.suffix.lower() == ".qdpx":
        return read_qdpx(path, lang)
    if path.suffix.lower() in (".csv", ".xlsx"):
        header = {h.lower() for h in read_table(path, lang).header}
        if "tag" in header and "document" not in header and "content" not in header:
            return read_taguette_codebook(path, lang)
        return read_taguette(path, lang)
    raise _refuse(display_path(path), None, "import_kind", lang)
