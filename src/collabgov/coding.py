"""Coded qualitative data: codebook, informants, segments and documentation, and their analysis.

Nothing here knows the study's stages by name: the stages are the top-level codes of family
``stage`` in a site's codebook, in their ``order``; every other code is placed by its family and
by its top-level ancestor. A student's own codebook (any hierarchy, any number of stages) works
without a code change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DataError, Problem, Problems, display_path
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

    @property
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
        actors = self.codes[(self.codes["family"] == "actor") & (self.codes["in_diagram"] == True)]  # noqa: E712
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


CODED_TABLES = (("codebook", True), ("informants", True), ("segments", True), ("documents", False), ("sources", False))


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
            book = load_codebook(folder, lang, tables["codebook"])
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
