"""Import coded data written by QDA tools into a site's tables.

* REFI-QDA project exchange files (``.qdpx``): a zip holding one ``.qde`` XML file (any name) and a
  ``sources``/``Sources`` folder. Codes (nested), users (as coders), cases and their variables (as
  informant attributes) and text sources with character offsets are read; GUIDs are not stable
  across tools, so codes are matched by name. The zip is read in memory, never extracted: members
  outside the archive's own folder, oversized members and zip bombs are refused.
* Taguette highlight exports (CSV or XLSX: ``id, document, tag, content``; no offsets, no coder).

A site's ``stage_mapping.csv`` assigns imported codes to the codebook's stages and families; codes
it does not list are kept (family ``imported``) and still counted in the code frequencies.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import DataError, Problem, display_path
from .i18n import message
from .tables import find_table, load_table, read_table, validate_table

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
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(shown, None, "qdpx_unreadable", lang, detail=type(exc).__name__) from None
    with zf:
        members = _safe_members(zf, shown, lang)
        projects = [m for m in members if m.lower().endswith(".qde")]
        if len(projects) != 1:
            raise _refuse(shown, None, "qdpx_projects", lang, found=len(projects))
        try:
            root = ElementTree.fromstring(zf.read(members[projects[0]]))
        except (ParseError, DefusedXmlException, zipfile.BadZipFile, EOFError) as exc:
            raise _refuse(shown, projects[0], "qdpx_bad_xml", lang, detail=exc) from None
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
                out.codes.append({"name": name, "path": code_path, "parent_path": parent_path})
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
            return zf.read(members[key]).decode("utf-8-sig", errors="replace")
    raise _refuse(shown, source.get("name"), "qdpx_missing_source", lang, ref=ref)


def _position(selection, attribute: str, shown: str, source: str, lang: str) -> int:
    value = selection.get(attribute, "0")
    try:
        return int(value)
    except ValueError:
        raise _refuse(shown, source, "qdpx_position", lang, attribute=attribute, found=value) from None


# --- Taguette ---------------------------------------------------------------------------------


def read_taguette(path: Path, lang: str = "en") -> Imported:
    rows = validate_table(read_table(path, lang), "taguette", lang)
    out = Imported(tool="Taguette")
    seen_codes, highlights = set(), {}
    for row in rows:
        tag = row["tag"].strip()
        if tag not in seen_codes:
            seen_codes.add(tag)
            out.codes.append({"name": tag, "path": tag, "parent_path": None})
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
        h["codes"].append(tag)
    out.codings = list(highlights.values())
    documents = dict.fromkeys(h["source"] for h in out.codings)
    out.sources = [{"source": d, "characters": None, "informant": slug(d)} for d in documents]
    out.informants = [{"informant_id": slug(d), "role": "", "attributes": f"document={d}"} for d in documents]
    return out


# --- into the site's tables -------------------------------------------------------------------


def read_any(path: Path, lang: str = "en") -> Imported:
    path = Path(path)
    if path.suffix.lower() == ".qdpx":
        return read_qdpx(path, lang)
    if path.suffix.lower() in (".csv", ".xlsx"):
        return read_taguette(path, lang)
    raise _refuse(display_path(path), None, "import_kind", lang)


def site_tables(imported: Imported, folder: Path, lang: str = "en") -> dict[str, list[dict]]:
    """The site's codebook, informants, sources and segments from an import and its stage mapping."""
    from .coding import load_codebook

    book = load_codebook(folder, lang)
    stages = book.stages
    mapping = {r["code"]: r for r in (load_table(folder, "stage_mapping", lang, required=False) or [])}
    path = display_path(find_table(folder, "stage_mapping") or folder / "stage_mapping.csv")
    problems = [
        Problem(path, n, "stage", message("mapping_stage", lang, found=r["stage"], expected=", ".join(stages)))
        for n, r in enumerate(mapping.values(), start=2)
        if r["stage"] and r["stage"] not in stages
    ]
    problems += [
        Problem(path, n, "same_as", message("mapping_same_as", lang, found=r["same_as"]))
        for n, r in enumerate(mapping.values(), start=2)
        if r.get("same_as") and r["same_as"] not in book.codes.index
    ]
    if problems:
        raise DataError(problems)

    # the site's own codes stay; codes from an earlier import are replaced
    codebook = [dict(r) for _, r in book.codes.iterrows() if r.get("source") != "imported"]
    code_id, taken = {}, {c["code"] for c in codebook}
    aliases = {}
    for code in imported.codes:
        m = mapping.get(code["path"]) or mapping.get(code["name"]) or {}
        if m.get("same_as"):
            aliases[code["path"]] = code_id[code["path"]] = m["same_as"]
            continue
        ident = base = slug(code["path"].replace("/", " "))
        n = 2
        while ident in taken and ident not in code_id.values():
            ident, n = f"{base}_{n}", n + 1
        taken.add(ident)
        code_id[code["path"]] = ident
    for code in imported.codes:
        if code["path"] in aliases:
            continue
        m = mapping.get(code["path"]) or mapping.get(code["name"]) or {}
        parent = code_id.get(code["parent_path"]) if code["parent_path"] else (m.get("stage") or None)
        family = "stage" if m.get("stage") else (m.get("family") or None)
        codebook.append(
            {
                "code": code_id[code["path"]],
                "parent": parent,
                "family": family or "imported",
                "order": None,
                "in_diagram": None,
                "label_id": code["name"],
                "label_en": code["name"],
                "definition_id": None,
                "definition_en": None,
                "source": "imported",
            }
        )
    # nested codes under a mapped parent belong to its stage
    by_id = {c["code"]: c for c in codebook}
    for c in codebook:
        p, seen = c["parent"], set()
        while p and p in by_id and p not in seen and c["family"] == "imported":
            seen.add(p)
            if by_id[p]["family"] == "stage":
                c["family"] = "stage"
            p = by_id[p]["parent"]

    def stage_of(ident):
        seen = set()
        while ident and ident not in seen:
            seen.add(ident)
            if ident in stages:
                return ident
            ident = by_id[ident]["parent"] if ident in by_id else None
        return None

    segments = []
    for n, c in enumerate(imported.codings, start=1):
        ids = [code_id[p] for p in c["codes"]]
        stage = next((s for s in map(stage_of, ids) if s), None)
        segments.append(
            {
                "segment_id": f"Q{n:04d}",
                "section": c["source"],
                "paragraph": None,
                "start": c["start"],
                "end": c["end"],
                "statement": "finding",
                "evidence": "interview",
                "stage": stage,
                "codes": ";".join(dict.fromkeys(ids)),
                "informant": c["informant"],
                "coder": c["coder"],
                "text": c["text"],
                "paraphrase_id": None,
                "paraphrase_en": None,
            }
        )
    informants = [
        {
            "informant_id": i["informant_id"],
            "role_id": i["role"] or None,
            "role_en": i["role"] or None,
            "role_status": "stated" if i["role"] else "not_reported",
            "basis_id": f"impor dari {imported.tool}",
            "basis_en": f"imported from {imported.tool}",
            "attributes": i["attributes"] or None,
        }
        for i in imported.informants
    ]
    known = {i["informant_id"] for i in informants}
    for s in segments:
        if s["informant"] not in known:
            s["informant"] = "unattributed"
    sources = [s for s in imported.sources]
    return {"codebook": codebook, "informants": informants, "segments": segments, "sources": sources}


def write_site_tables(folder: Path, tables: dict[str, list[dict]]) -> list[Path]:
    """Write the tables as CSV (replacing earlier imports of the same tables); return the paths written."""
    import csv

    from .tables import remove_other_formats, schema_descriptor

    written = []
    for name, rows in tables.items():
        columns = [f["name"] for f in schema_descriptor(name)["fields"]]
        remove_other_formats(folder, name, ".csv")
        target = folder / f"{name}.csv"
        tmp = target.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(columns)
            for row in rows:
                w.writerow(
                    [
                        ""
                        if row.get(c) is None or row.get(c) != row.get(c)
                        else (
                            "true"
                            if row.get(c) is True
                            else "false"
                            if row.get(c) is False
                            else str(int(row[c]))
                            if isinstance(row.get(c), float) and float(row[c]).is_integer()
                            else str(row[c])
                        )
                        for c in columns
                    ]
                )
        tmp.replace(target)
        written.append(target)
    return written
