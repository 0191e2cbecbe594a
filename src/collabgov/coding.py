"""Coded qualitative data: codebook, informants, segments and documentation, and their analysis.

Nothing here knows the study's stages by name: the stages are the top-level codes of family
``stage`` in a site's codebook, in their ``order``; every other code is placed by its family and
by its top-level ancestor. A student's own codebook (any hierarchy, any number of stages) works
without a code change.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from .errors import WARNING, DataError, Problem, Problems, display_path
from .i18n import message
from .tables import find_table, load_table, schema_descriptor

UNATTRIBUTED = "unattributed"
STAGE = "stage"
EVIDENCE = ("interview", "documentation", "synthesis")
FAMILY_ORDER = ["subcode", "actor", "channel", "activity", "barrier", "outcome"]


def split_codes(cell: str | None) -> list[str]:
    return [c.strip() for c in cell.split(";") if c.strip()] if isinstance(cell, str) else []


@dataclass
class Codebook:
    codes: pd.DataFrame  # indexed by code

    @cached_property  # asked often; a codebook is never changed once loaded
    def stages(self) -> list[str]:
        """Stage codes in cycle order."""
        top = self.codes[(self.codes["family"] == STAGE) & self.codes["parent"].isna()]
        return list(top.sort_values("order", na_position="last", kind="stable").index)

    def family(self, code: str) -> str:
        return self.codes.at[code, "family"]

    def root(self, code: str) -> str:
        """Top-level ancestor of a code (itself when it has no parent)."""
        seen = set()
        while isinstance(self.codes.at[code, "parent"], str) and code not in seen:
            seen.add(code)
            code = self.codes.at[code, "parent"]
        return code

    def label(self, code: str, lang: str) -> str:
        return self.codes.at[code, f"label_{lang}"]

    def of_family(self, family: str) -> list[str]:
        sub = self.codes[self.codes["family"] == family]
        return list(sub.sort_values("order", na_position="last", kind="stable").index)

    def subcodes(self, stage: str) -> list[str]:
        return [c for c in self.codes.index if c != stage and self.family(c) == STAGE and self.root(c) == stage]

    def diagram_actors(self) -> list[str]:
        actors = self.codes[(self.codes["family"] == "actor") & self.codes["in_diagram"].eq(True)]
        return list(actors.sort_values("order", na_position="last", kind="stable").index)


@dataclass
class CodedData:
    codebook: Codebook
    informants: pd.DataFrame
    segments: pd.DataFrame
    documents: pd.DataFrame
    files: dict[str, Path]
    sources: pd.DataFrame = None  # lengths of source texts (imports from QDA tools)


def load_codebook(folder: Path, lang: str = "en", rows: list[dict] | None = None) -> Codebook:
    """The codebook, its parents checked; ``rows`` when the table has been read and validated already."""
    rows = load_table(folder, "codebook", lang) if rows is None else rows
    path = display_path(find_table(folder, "codebook"))
    codes = frame(rows, "codebook").set_index("code", drop=False).rename_axis(None)
    problems = []
    for n, row in enumerate(rows, start=2):
        if row["parent"] and row["parent"] not in codes.index:
            problems.append(Problem(path, n, "parent", message("unknown_parent", lang, code=row["parent"])))
        elif row["parent"] == row["code"]:
            problems.append(Problem(path, n, "parent", message("own_parent", lang)))
    if not problems:
        book = Codebook(codes)
        for n, row in enumerate(rows, start=2):
            seen, code = set(), row["code"]
            while code and code not in seen:
                seen.add(code)
                code = codes.at[code, "parent"] if isinstance(codes.at[code, "parent"], str) else None
            if code:
                problems.append(Problem(path, n, "parent", message("parent_loop", lang, code=row["code"])))
        if not problems and not book.stages:
            problems.append(Problem(path, None, "family", message("no_stages", lang)))
    if problems:
        raise DataError(problems)
    return Codebook(codes)


def _check_references(
    path: str, rows: list[dict], book: Codebook, informants: set[str] | None, lang: str
) -> list[Problem]:
    problems = []
    stages = book.stages
    for n, row in enumerate(rows, start=2):
        if row["stage"] is not None and row["stage"] not in stages:
            problems.append(
                Problem(path, n, "stage", message("stage_unknown", lang, stage=row["stage"], stages=", ".join(stages)))
            )
        for code in split_codes(row.get("codes")):
            if code not in book.codes.index:
                problems.append(Problem(path, n, "codes", message("code_unknown", lang, code=code)))
            elif code in stages:
                problems.append(Problem(path, n, "codes", message("code_is_stage", lang, code=code)))
        if informants is not None and row["informant"] != UNATTRIBUTED and row["informant"] not in informants:
            problems.append(
                Problem(path, n, "informant", message("informant_unknown", lang, informant=row["informant"]))
            )
    return problems


CODED_TABLES = (
    ("codebook", True),
    ("informants", True),
    ("segments", True),
    ("documents", False),
    ("sources", False),
    ("code_mapping", False),
)
IMPORTED = "imported"  # the family of a code imported from a QDA tool until code_mapping places it


def frame(rows: list[dict] | None, name: str) -> pd.DataFrame:
    """Rows of table ``name`` as a DataFrame with every declared column, also when there are no rows."""
    return pd.DataFrame(rows or [], columns=[f["name"] for f in schema_descriptor(name)["fields"]])


def load_coded_data(folder: Path | str, lang: str = "en", problems: Problems | None = None) -> CodedData | None:
    """Load and cross-check codebook, informants, segments and (optional) documents and sources.

    Every problem is found in one pass: a table that cannot be read is reported and the checks
    between tables go on with the tables that could. Without ``problems`` the problems are raised;
    with it they are added to it, and None is returned when any is an error."""
    folder = Path(folder)
    collected = Problems() if problems is None else problems
    before = len(collected.errors)
    tables: dict[str, list[dict] | None] = {}
    for name, required in CODED_TABLES:
        with collected.collecting():
            tables[name] = load_table(folder, name, lang, required=required)
    book = None
    if tables.get("codebook") is not None:
        with collected.collecting():
            stages = load_codebook(folder, lang, tables["codebook"]).stages
            mapping = tables.get("code_mapping") or []
            collected.add(_check_mapping(folder, mapping, tables["codebook"], stages, lang))
            tables["codebook"], tables["segments"] = apply_mapping(
                tables["codebook"], tables.get("segments"), mapping, stages
            )
            book = load_codebook(folder, lang, tables["codebook"])
    if book is not None and tables.get("segments") is not None:
        collected.add(_unmapped(folder, book, tables["segments"], tables.get("code_mapping") or [], lang))
    if book is not None:
        informant_ids = (
            {r["informant_id"] for r in tables["informants"]} if tables.get("informants") is not None else None
        )
        if tables.get("segments"):
            path = display_path(find_table(folder, "segments"))
            collected.add(_check_references(path, tables["segments"], book, informant_ids, lang))
        if tables.get("documents"):
            rows = [dict(r, informant=UNATTRIBUTED) for r in tables["documents"]]
            collected.add(_check_references(display_path(find_table(folder, "documents")), rows, book, None, lang))
    if problems is None:
        collected.raise_if_errors()
    if len(collected.errors) > before or any(tables.get(n) is None for n, required in CODED_TABLES if required):
        return None
    files = {name: path for name in tables if (path := find_table(folder, name))}
    return CodedData(
        book,
        frame(tables["informants"], "informants"),
        frame(tables["segments"], "segments"),
        frame(tables["documents"], "documents"),
        files,
        frame(tables["sources"], "sources"),
    )


def _check_mapping(
    folder: Path, mapping: list[dict], codebook: list[dict], stages: list[str], lang: str
) -> list[Problem]:
    """Every mapping row must name a stage, a family or an existing code that exists."""
    if not mapping:
        return []
    path = display_path(find_table(folder, "code_mapping"))
    codes = {r["code"] for r in codebook}
    problems = []
    for n, row in enumerate(mapping, start=2):
        if row["code"] not in codes:
            problems.append(Problem(path, n, "code", message("code_unknown", lang, code=row["code"])))
        if row.get("stage") and row["stage"] not in stages:
            expected = ", ".join(stages)
            problems.append(
                Problem(path, n, "stage", message("mapping_stage", lang, found=row["stage"], expected=expected))
            )
        if row.get("same_as") and (row["same_as"] not in codes or row["same_as"] == row["code"]):
            problems.append(Problem(path, n, "same_as", message("mapping_same_as", lang, found=row["same_as"])))
    return problems


def apply_mapping(codebook: list[dict], segments: list[dict] | None, mapping: list[dict], stages: list[str]):
    """The codebook and segments as ``code_mapping`` places the imported codes.

    ``same_as`` X: the code stands for X (X a stage: its segments belong to that stage); the imported code
    leaves the codebook. ``stage`` S: the code is a sub-code of S. ``family`` F: the code is an actor,
    channel ... Codes nested under a placed code follow it. A segment without a stage of its own
    belongs to the stage of its first code that has one."""
    known = {r["code"] for r in codebook}
    by_code = {  # rows that place their code somewhere that exists (the others are reported by _check_mapping)
        r["code"]: r
        for r in mapping
        if (r.get("stage") in stages) or r.get("family") or (r.get("same_as") in known and r["same_as"] != r["code"])
    }
    if not by_code:
        book = codebook
    else:
        rows = {r["code"]: dict(r) for r in codebook}
        aliases = {c: m["same_as"] for c, m in by_code.items() if m.get("same_as")}
        for row in rows.values():  # a code nested under one that stands for X is nested under X
            seen = set()
            while row.get("source") == IMPORTED and row.get("parent") in aliases and row["parent"] not in seen:
                seen.add(row["parent"])
                row["parent"] = aliases[row["parent"]]
        for code, m in by_code.items():
            row = rows.get(code)
            if row is None or row.get("source") != IMPORTED or m.get("same_as"):
                continue
            if m.get("stage"):
                row.update(family="stage", parent=m["stage"])
            elif m.get("family"):
                row.update(family=m["family"], parent=None)
        for row in rows.values():  # nested codes follow their placed ancestor
            parent, seen = row.get("parent"), set()
            while row["family"] == IMPORTED and parent in rows and parent not in seen:
                seen.add(parent)
                if rows[parent]["family"] != IMPORTED:
                    row["family"] = rows[parent]["family"]
                    if row["family"] != "stage":
                        row["parent"] = parent if rows[parent]["family"] == row["family"] else None
                parent = rows[parent].get("parent")
        book = [r for c, r in rows.items() if c not in aliases]
        if segments is not None:
            segments = [dict(s) for s in segments]
            for seg in segments:
                codes = [aliases.get(c, c) for c in split_codes(seg.get("codes"))]
                staged = [c for c in codes if c in stages]
                if staged and not seg.get("stage"):
                    seg["stage"] = staged[0]
                seg["codes"] = ";".join(dict.fromkeys(c for c in codes if c not in stages)) or None
    if segments is not None:
        parents = {r["code"]: r.get("parent") for r in book}
        families = {r["code"]: r["family"] for r in book}

        def stage_of(code):
            seen = set()
            while code and code not in seen:
                seen.add(code)
                if code in stages:
                    return code
                code = parents.get(code) if families.get(code) == "stage" else None
            return None

        segments = [
            seg
            if seg.get("stage")
            else dict(seg, stage=next((s for s in map(stage_of, split_codes(seg.get("codes"))) if s), None))
            for seg in segments
        ]
    return book, segments


def _unmapped(folder: Path, book: Codebook, segments: list[dict], mapping: list[dict], lang: str) -> list[Problem]:
    """To-dos of an import: imported codes used in segments but placed nowhere (warnings)."""
    used = unmapped_codes(book, (seg.get("codes") for seg in segments))
    path = display_path(find_table(folder, "code_mapping") or folder / "code_mapping.csv")
    rows = {r["code"]: n for n, r in enumerate(mapping, start=2)}
    out = [
        Problem(
            path,
            rows.get(code),
            "stage",
            message("unmapped_code", lang, code=code, label=book.label(code, lang), n=used[code]),
            WARNING,
        )
        for code in used
    ]
    return out


def unmapped_codes(book: Codebook, code_cells) -> dict[str, int]:
    """Imported codes that segments use (``code_cells``: their ``codes`` cells) but that the mapping placed
    nowhere, with how often each is used. Codes nobody used, and codes that follow a placed parent, are not
    to-dos."""
    used: dict[str, int] = {}
    for cell in code_cells:
        for code in split_codes(cell):
            used[code] = used.get(code, 0) + 1
    return {code: used[code] for code in book.codes.index if book.family(code) == IMPORTED and used.get(code)}


def stageless_segments(data: CodedData, lang: str) -> list[Problem]:
    """Segments that belong to no stage: an error when none does (an import whose codes are not mapped yet),
    else a warning for each (coded only with actors, channels or barriers, they are in no stage's findings)."""
    seg = data.segments
    staged = seg["stage"].isin(data.codebook.stages)
    if len(seg) and not staged.any():
        path = display_path(data.files.get("code_mapping") or data.files["segments"])
        return [Problem(path, None, None, message("no_stage_reached", lang, n=len(seg)))]
    path = display_path(data.files["segments"])
    return [
        Problem(path, n, "stage", message("segment_without_stage", lang, codes=codes or "–"), WARNING)
        for n, (is_staged, codes) in enumerate(zip(staged, seg["codes"].fillna("")), start=2)
        if not is_staged
    ]


# --- analysis --------------------------------------------------------------------------------


def segments_per_stage(data: CodedData, lang: str) -> pd.DataFrame:
    """Per stage: statements by type (finding, conclusion, theory), documentation items, all statements,
    their share, and ``findings`` (findings and conclusions: what is not restated theory)."""
    stages = data.codebook.stages
    seg = data.segments
    by_type = {
        kind: seg[seg["statement"] == kind]["stage"].value_counts().reindex(stages, fill_value=0).values
        for kind in ("finding", "conclusion", "theory")
    }
    documents = data.documents["stage"].value_counts().reindex(stages, fill_value=0).values
    counts = by_type["finding"] + by_type["conclusion"] + by_type["theory"]
    return pd.DataFrame(
        {
            "stage": stages,
            "label": [data.codebook.label(s, lang) for s in stages],
            **by_type,
            "documents": documents,
            "segments": counts,
            "share": counts / max(1, counts.sum()),
            "findings": by_type["finding"] + by_type["conclusion"],
        }
    )


def code_matrix(data: CodedData, family: str, lang: str, include_documents: bool = False) -> pd.DataFrame:
    """Codes of one family (rows) by stage (columns): number of segments carrying the code."""
    book = data.codebook
    rows = data.segments[["stage", "codes"]]
    if include_documents and len(data.documents):
        rows = pd.concat([rows, data.documents[["stage", "codes"]]])
    codes = book.of_family(family) if family != "subcode" else [c for s in book.stages for c in book.subcodes(s)]
    matrix = pd.DataFrame(0, index=codes, columns=book.stages)
    for stage, cell in zip(rows["stage"], rows["codes"]):
        if stage not in matrix.columns:
            continue
        for code in split_codes(cell):
            if code in matrix.index:
                matrix.at[code, stage] += 1
    matrix.index = [book.label(c, lang) for c in codes]
    matrix.columns = [book.label(s, lang) for s in book.stages]
    return matrix


def triangulation(data: CodedData, lang: str) -> pd.DataFrame:
    """Stage by evidence type: interview statements (findings, conclusions) and documentation items."""
    book = data.codebook
    seg = data.segments[data.segments["statement"] != "theory"]
    out = pd.DataFrame(0, index=book.stages, columns=list(EVIDENCE))
    for stage, evidence in zip(seg["stage"], seg["evidence"]):
        if evidence in out.columns and stage in out.index:
            out.at[stage, evidence] += 1
    for stage in data.documents["stage"]:
        out.at[stage, "documentation"] += 1
    out.index = [book.label(s, lang) for s in book.stages]
    return out


def present(value) -> str | None:
    """A cell's text, or None when it is empty or missing (pandas' NaN included)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def locator(row) -> str:
    """Where a statement is in its source: section, paragraph (¶) and numbered point."""
    where = present(row.get("section")) or ""
    if present(row.get("paragraph")):
        where += f" ¶{int(row['paragraph'])}"
    if present(row.get("point")):
        where += f" ({int(row['point'])})"
    return where.strip()


def findings(data: CodedData, stage: str, lang: str) -> pd.DataFrame:
    """The statements coded to one stage, in source order, with their evidence (empty cells as None)."""
    book = data.codebook
    other = "en" if lang == "id" else "id"
    seg = data.segments[data.segments["stage"] == stage]
    rows = []
    for _, s in seg.iterrows():
        text = present(s.get(f"paraphrase_{lang}")) or present(s.get(f"paraphrase_{other}")) or present(s.get("text"))
        rows.append(
            {
                "segment": s["segment_id"],
                "statement": s["statement"],
                "text": text,
                "codes": ", ".join(book.label(c, lang) for c in split_codes(s["codes"])),
                "locator": locator(s) or None,
                "informant": s["informant"],
            }
        )
    for _, d in data.documents[data.documents["stage"] == stage].iterrows():
        figure, source = present(d.get("figure")), present(d.get("source"))
        rows.append(
            {
                "segment": d["document_id"],
                "statement": "documentation",
                "text": present(d.get(f"title_{lang}")) or present(d.get("title_id")),
                "codes": ", ".join(book.label(c, lang) for c in split_codes(d["codes"])),
                "locator": ", ".join(x for x in (figure, source) if x) or None,
                "informant": "–",
            }
        )
    return pd.DataFrame(rows, columns=["segment", "statement", "text", "codes", "locator", "informant"])


def stage_profile(data: CodedData, stage: str, lang: str) -> pd.DataFrame:
    """Codes used in one stage's statements and documents: family, label and count, most used first."""
    book = data.codebook
    counts: dict[str, int] = {}
    cells = list(data.segments.loc[data.segments["stage"] == stage, "codes"]) + list(
        data.documents.loc[data.documents["stage"] == stage, "codes"]
    )
    for cell in cells:
        for code in split_codes(cell):
            counts[code] = counts.get(code, 0) + 1
    rows = [
        {
            "code": c,
            "family": book.family(c) if book.family(c) != STAGE else "subcode",
            "label": book.label(c, lang),
            "count": n,
        }
        for c, n in counts.items()
    ]
    frame = pd.DataFrame(rows, columns=["code", "family", "label", "count"])
    frame["rank"] = [FAMILY_ORDER.index(f) if f in FAMILY_ORDER else len(FAMILY_ORDER) for f in frame["family"]]
    frame = frame.sort_values(["rank", "family", "count", "label"], ascending=[True, True, False, True], kind="stable")
    return frame.drop(columns="rank").reset_index(drop=True)


def matrix_description(matrix: pd.DataFrame, lang: str) -> str:
    """The non-zero cells of a count matrix in words, for alt text."""
    cells = [f"{r} – {c}: {int(v)}" for r, row in matrix.iterrows() for c, v in row.items() if v]
    empty = [str(r) for r, row in matrix.iterrows() if not row.any()]
    text = "; ".join(cells) + "."
    if empty:
        text += (" Tanpa segmen: " if lang == "id" else " No segments: ") + ", ".join(empty) + "."
    return text


def codes_in_statements(data: CodedData) -> set[str]:
    """Every code used in a reported finding or conclusion (the source's restatements of theory left out)."""
    rows = data.segments[data.segments["statement"] != "theory"]
    return {c for cell in rows["codes"] for c in split_codes(cell)}


def unnamed_diagram_actors(data: CodedData) -> list[str]:
    """Actors of the process diagram that no finding or conclusion names."""
    used = codes_in_statements(data)
    return [a for a in data.codebook.diagram_actors() if a not in used]


def code_frequencies(data: CodedData, lang: str) -> pd.DataFrame:
    """Every code of the codebook with the segments, sources and coders that use it (unmapped codes included)."""
    book, seg = data.codebook, data.segments
    rows = []
    for code in book.codes.index:
        used = seg[[code in split_codes(cell) or stage == code for cell, stage in zip(seg["codes"], seg["stage"])]]
        root = book.root(code)
        rows.append(
            {
                "code": code,
                "label": book.label(code, lang),
                "family": book.family(code),
                "stage": book.label(root, lang) if root in book.stages else None,
                "segments": len(used),
                "sources": used["section"].nunique(),
                "coders": used["coder"].nunique(),
            }
        )
    return pd.DataFrame(rows, columns=["code", "label", "family", "stage", "segments", "sources", "coders"])
