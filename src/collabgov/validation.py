"""Everything that stands between a site and its report, found in one pass.

``validate_site`` reads every input of a site the way the notebooks will, and collects every
problem: rows that break their table's schema, references between tables, claims, years, report
texts (placeholders, images, links), parts left unfilled (``[TULIS: ...]``) and tables that are
still empty, plus warnings that do not stop a build (suspects fewer than cases, a published count
of informants that differs from the informants table). ``make validate`` prints them all as a
to-do list; the build refuses to start while any is an error.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import cases as case_stats
from . import claims as claim_checks
from . import coding, texts
from .context import SiteContext
from .errors import WARNING, DataError, Problem, Problems, display_path
from .i18n import message
from .report import Report
from .sites import Site, check_folder, load_site, peek_site
from .tables import find_table, read_table, schema_descriptor

# tables a report cannot do without, in the order a student fills them in
REQUIRED_TABLES = ("cases", "codebook", "informants", "segments")


def _row_count(folder: Path, name: str) -> int | None:
    """Data rows in table ``name`` (None when it is missing or unreadable: its load reports why)."""
    try:
        path = find_table(folder, name)
        return len(read_table(path, within=folder).rows) if path else None
    except Exception:  # any failure here is reported by the table's own load
        return None


def validate_folder(root: Path, slug: str, draft: bool = False) -> tuple[str, Problems]:
    """`make validate`: the site's language and every problem of its folder. While site.yaml cannot be read,
    its problems, the folder's links and the tables' problems all the same (the case table and the texts,
    which need the site's years, wait); a folder refused as a whole (a link, a special file) is not read."""
    try:
        site = load_site(root, slug)
        return site.lang, validate_site(site, draft=draft)
    except DataError as exc:
        peeked = peek_site(root, slug)  # the language site.yaml declares, when it cannot be read
        problems = Problems()
        problems.add(exc.problems)
        if all(p.file.endswith("site.yaml") for p in exc.problems):
            seen = {str(p) for p in exc.problems}
            problems.add([p for p in check_folder(peeked.folder, peeked.lang) if str(p) not in seen])
            problems.add(validate_tables(peeked.folder, peeked.lang, None)[0].items)
        return peeked.lang, problems


def validate_site(site: Site, draft: bool = False) -> Problems:
    """Every problem of ``site`` (errors and warnings), in the site's language."""
    lang, folder = site.lang, site.folder
    problems, coded = validate_tables(folder, lang, site.years)
    if coded is not None:
        problems.add(_informant_count(site, coded, lang))

    unfilled_level = WARNING if draft else "error"
    for key, found in texts.unfilled_in(site.params):
        line = site.lines.get(key)
        shown = display_path(folder / "site.yaml")
        problems.add(Problem(shown, line, key, message("unfilled", lang, found=found), unfilled_level))

    known = fact_names(site, coded.codebook.stages if coded is not None else None)
    empty = {}
    if find_table(folder, "claims") is None or _row_count(folder, "claims") == 0:  # no claims: nothing to count
        empty = {name: "claims_empty_cited" for name in known if name.startswith("claims_") or name == "table:claims"}
    for text_lang in site.languages:
        names = list(texts.SECTIONS) + [p.stem for p in sorted((folder / "text" / text_lang).glob("stage_*.md"))]
        for section in names:
            problems.add(texts.check(folder, text_lang, section, known, lang, draft, empty))
    return problems


def validate_tables(folder: Path, lang: str, years: list[int] | None):
    """Every problem of the site's tables, and its coded data when it loads. ``years`` is None when site.yaml
    cannot be read: the case table, which needs them, is left for later; the rest of the to-do list is shown."""
    problems = Problems()
    empty = set()
    for name in REQUIRED_TABLES:
        if _row_count(folder, name) == 0:
            empty.add(name)
            found = find_table(folder, name)
            template = (
                f"templates/{name}{'.xlsx' if found.suffix.lower() == '.xlsx' else '.csv'}"  # as the site keeps it
            )
            problems.add(Problem(display_path(found), None, None, message("table_empty", lang, template=template)))

    table = None
    if "cases" not in empty and years is not None:
        with problems.collecting():
            table = case_stats.load_case_table(folder, lang, years)
    if table is not None:
        problems.add(_suspects_fewer_than_cases(table, folder, lang))

    coded = None
    if not empty & {"codebook", "informants", "segments"}:
        coded = coding.load_coded_data(folder, lang, problems)
    if coded is not None:
        problems.add(coding.stageless_segments(coded, lang))
    problems.add(_document_images(folder, lang))  # also while other rows have problems: one pass finds all

    with problems.collecting():
        claim_checks.load_claims(folder, lang, coded)
    return problems, coded


def _suspects_fewer_than_cases(table, folder: Path, lang: str) -> list[Problem]:
    path = display_path(find_table(folder, "cases"))
    return [
        Problem(path, n, "suspects", message("suspects_fewer", lang, cases=c, suspects=s), WARNING)
        for n, (c, s) in enumerate(zip(table["cases"], table["suspects"]), start=2)
        if s < c
    ]


def _document_images(folder: Path, lang: str) -> list[Problem]:
    """Each documentation image the report will show: inside the site folder, readable, PNG or JPEG. Rows
    whose path breaks the table's pattern are left to the row checks (one message per cell)."""
    path = find_table(folder, "documents")
    try:
        raw = read_table(path, lang, within=folder) if path else None
    except Exception:  # any failure here is reported by the table's own load
        return []
    if raw is None or "image" not in raw.header:
        return []
    column = raw.header.index("image")
    field = next(f for f in schema_descriptor("documents")["fields"] if f["name"] == "image")
    pattern = re.compile(field["constraints"]["pattern"])
    out = []
    for n, row in zip(raw.row_numbers, raw.rows):
        image = (row[column] if column < len(row) else "") or ""
        if isinstance(image, str) and pattern.fullmatch(image.strip()):
            try:
                texts.site_image(folder, image.strip(), lang)
            except texts.TextProblem as exc:
                out.append(Problem(display_path(path), n, "image", exc.problem.message))
    return out


def _informant_count(site: Site, coded, lang: str) -> list[Problem]:
    stated = site.params["study"].get("published_informants")
    listed = len(coded.informants)
    if stated is None or stated == listed:
        return []
    line = site.lines.get("study.published_informants")
    text = message("informants_differ", lang, stated=stated, listed=listed)
    return [Problem(display_path(site.folder / "site.yaml"), line, "study.published_informants", text, WARNING)]


def fact_names(site: Site, stages: list[str] | None = None) -> set[str]:
    """Every placeholder a site's texts may use: the facts of the report and its table and figure references
    (``stages``: the codebook's, when it is loaded already)."""
    return Report.fact_names(SiteContext(site, site.lang, Path(".")), stages)
