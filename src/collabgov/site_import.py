"""``make import``: a QDA tool's export into the site's coded tables, without losing anyone's work.

What the import writes:

- ``codebook``: the site's own codes stay; codes of an earlier import are replaced by this import's
  (family ``imported`` until the student maps them);
- ``informants``: rows already there stay as they are (roles typed by hand are kept); informants
  new in the import are added;
- ``segments``: segments coded by hand stay; segments of an earlier import (ids ``Q0001`` ...) are
  replaced by this import's;
- ``sources``: the import's source texts and their lengths;
- ``code_mapping``: one row per imported code with its path in the tool and how often it was used;
  the student fills in where it belongs (stage, family, same_as). Rows already filled in are kept.

Tables that hold data are replaced only when asked (``--replace``); the previous tables are then kept
in ``backup/<date-time>/`` inside the site. Each table keeps its format (xlsx stays xlsx). The new
tables must load before any of them replaces anything.
"""

from __future__ import annotations

import dataclasses
import datetime
import shutil
import tempfile
from pathlib import Path

from . import qda_files
from .coding import UNATTRIBUTED, load_coded_data, unmapped_codes
from .errors import DataError, Problem, Problems, display_path
from .i18n import message
from .inputs import BACKUP
from .sites import load_site
from .tables import TABLE_SUFFIXES, find_table, load_table, remove_other_formats, schema_descriptor, write_table

WRITES = ("codebook", "informants", "segments", "sources", "code_mapping")
IMPORTED = "imported"


def _rows(folder: Path, name: str, lang: str) -> list[dict]:
    return load_table(folder, name, lang, required=False) or []


def _code_id(path: str, taken: set[str]) -> str:
    ident = base = qda_files.slug(path.replace("/", " "))
    n = 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    taken.add(ident)
    return ident


def new_tables(imported: qda_files.Imported, folder: Path, lang: str) -> dict[str, list[dict]]:
    """The site's coded tables after the import (see the module's docstring)."""
    own_codes = [r for r in _rows(folder, "codebook", lang) if r.get("source") != IMPORTED]
    taken = {r["code"] for r in own_codes}
    ids = {c["path"]: _code_id(c["path"], taken) for c in imported.codes}
    codebook = own_codes + [
        {
            "code": ids[c["path"]],
            "parent": ids.get(c["parent_path"]) if c["parent_path"] else None,
            "family": IMPORTED,
            "label_id": c["name"],
            "label_en": c["name"],
            f"definition_{lang}": c.get("description"),  # in the site's language, untranslated
            "source": IMPORTED,
        }
        for c in imported.codes
    ]

    informants = _rows(folder, "informants", lang)
    known = {r["informant_id"] for r in informants}
    for i in imported.informants:
        if i["informant_id"] not in known:
            known.add(i["informant_id"])
            informants.append(
                {
                    "informant_id": i["informant_id"],
                    f"role_{lang}": i["role"] or None,  # as the project wrote it: in the site's language, untranslated
                    "role_status": "stated" if i["role"] else "not_reported",
                    "basis_id": f"impor dari {imported.tool}",
                    "basis_en": f"imported from {imported.tool}",
                    "attributes": i["attributes"] or None,
                }
            )

    segments = [r for r in _rows(folder, "segments", lang) if not _imported_segment(r)]
    for n, c in enumerate(imported.codings, start=1):
        segments.append(
            {
                "segment_id": f"Q{n:04d}",
                "section": c["source"],
                "start": c["start"],
                "end": c["end"],
                "statement": "finding",
                "evidence": "interview",
                "stage": None,
                "codes": ";".join(dict.fromkeys(ids[p] for p in c["codes"])),
                "informant": c["informant"] if c["informant"] in known else UNATTRIBUTED,
                "coder": c["coder"],
                "text": c["text"],
            }
        )

    uses = {}
    for c in imported.codings:
        for p in dict.fromkeys(c["codes"]):
            uses[p] = uses.get(p, 0) + 1
    earlier = {r["code"]: r for r in _rows(folder, "code_mapping", lang)}
    mapping = []
    for c in imported.codes:
        ident = ids[c["path"]]
        kept = earlier.get(ident, {})
        mapping.append(
            {
                "code": ident,
                "path": c["path"],
                "uses": uses.get(c["path"], 0),
                "stage": kept.get("stage"),
                "family": kept.get("family"),
                "same_as": kept.get("same_as"),
            }
        )
    sources = imported.sources or _rows(folder, "sources", lang)
    return {
        "codebook": codebook,
        "informants": informants,
        "segments": segments,
        "sources": sources,
        "code_mapping": mapping,
    }


def _imported_segment(row: dict) -> bool:
    return str(row.get("segment_id", "")).startswith("Q") and str(row["segment_id"])[1:].isdigit()


def would_replace(folder: Path, tables: dict[str, list[dict]], lang: str) -> dict[str, int]:
    """Rows of the site's tables that the import would replace or remove (0s left out)."""
    out = {}
    for name in ("segments", "sources", "code_mapping"):
        old = _rows(folder, name, lang)
        key = "segment_id" if name == "segments" else "source" if name == "sources" else "code"
        new = {r[key]: r for r in tables[name]}
        keep = ("stage", "family", "same_as") if name == "code_mapping" else None  # new counts of uses lose nothing
        changed = sum(1 for r in old if r[key] not in new or _differs(r, new[r[key]], keep))
        if changed:
            out[name] = changed
    new_codes = {r["code"]: r for r in tables["codebook"]}
    changed = [
        r
        for r in _rows(folder, "codebook", lang)
        if r.get("source") == IMPORTED and (r["code"] not in new_codes or _differs(r, new_codes[r["code"]]))
    ]
    if changed:
        out["codebook"] = len(changed)
    return out


def _differs(old: dict, new: dict, columns=None) -> bool:
    return any((old.get(k) or None) != (new.get(k) or None) for k in (columns or new) if k in old)


def _format(folder: Path, name: str) -> str:
    """The suffix a table keeps (its own, else the site's: that of its case table)."""
    found = find_table(folder, name) or find_table(folder, "cases")
    return found.suffix if found is not None and found.suffix in TABLE_SUFFIXES else ".csv"


def import_into_site(root: Path, slug: str, source: str | Path, replace: bool = False) -> list[str]:
    """Import ``source`` into site ``slug``; returns what was done, in lines in the site's language."""
    site = load_site(root, slug)
    lang, folder = site.lang, site.folder
    imported = qda_files.read_any(Path(source), lang)
    tables = new_tables(imported, folder, lang)
    replaced = would_replace(folder, tables, lang)
    if replaced and not replace:
        lines = [
            f"{display_path(find_table(folder, n) or folder / n)}: {message('import_would_replace', lang, n=k)}"
            for n, k in replaced.items()
        ]
        raise DataError(
            [Problem(display_path(folder), None, None, message("import_refused", lang, tables="; ".join(lines)))]
        )
    with tempfile.TemporaryDirectory(dir=root / "data", prefix=f".{slug}.import-") as scratch:
        staging = Path(scratch) / slug
        shutil.copytree(folder, staging, ignore=shutil.ignore_patterns(BACKUP, ".*"))
        written = []
        for name, rows in tables.items():
            target = staging / f"{name}{_format(folder, name)}"
            remove_other_formats(staging, name, target.suffix)
            write_table(target, [f["name"] for f in schema_descriptor(name)["fields"]], rows)
            written.append(target)
        problems = Problems()
        data = load_coded_data(staging, lang, problems)  # the new tables must load before they replace anything
        if problems.errors:
            copy, real = display_path(staging), display_path(folder)
            raise DataError(
                [
                    dataclasses.replace(p, file=real + p.file[len(copy) :]) if p.file.startswith(copy) else p
                    for p in problems.errors
                ]
            )
        out = []
        if replaced:
            backup = folder / BACKUP / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            backup.mkdir(parents=True)
            for name in WRITES:
                path = find_table(folder, name)
                if path is not None:
                    shutil.copy2(path, backup / path.name)
            out.append(message("import_backup", lang, folder=display_path(backup)))
        for path in written:
            remove_other_formats(folder, path.stem, path.suffix)
            tmp = folder / f".{path.name}.new"
            shutil.copy2(path, tmp)
            tmp.replace(folder / path.name)
    unmapped = len(unmapped_codes(data.codebook, data.segments["codes"])) if data is not None else 0
    out.insert(
        0,
        message(
            "import_done",
            lang,
            source=Path(source).name,
            segments=len(imported.codings),
            codes=len(imported.codes),
            informants=len(imported.informants),
        ),
    )
    out += [
        f"  {display_path(folder / p.name)}: {message('import_rows', lang, n=len(tables[p.stem]))}" for p in written
    ]
    if unmapped:
        out.append(message("import_unmapped", lang, n=unmapped, table=f"code_mapping{_format(folder, 'code_mapping')}"))
    return out
