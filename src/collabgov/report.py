"""Assemble the report as HTML fragments that the report notebook displays, one per cell.

Every number shown comes from the site's data through the functions of this package; the site's
own narrative (``data/<site>/text/<lang>/<section>.md``) refers to them by placeholders such as
``{{ cases_total }}`` or ``{{ table:cases }}``. Placeholders are looked up, never evaluated, and all
text from the data is escaped (Markdown is rendered with raw HTML switched off).
"""
from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from markdown_it import MarkdownIt

from . import cases as case_stats
from . import coding
from .context import SiteContext
from .errors import DataError, Problem, display_path
from .i18n import integer, interval, label, number, p_value, percent, signed


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_:.-]+)\s*\}\}")
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")


class Fragment(str):
    """HTML that Jupyter displays as HTML (and nbconvert copies into the exported page)."""

    def _repr_html_(self) -> str:
        return str(self)


def esc(text) -> str:
    return html.escape(str(text), quote=True)


class Report:
    def __init__(self, ctx: SiteContext):
        self.ctx = ctx
        self.lang = ctx.lang
        self.case_table = case_stats.load_case_table(ctx.data_dir, ctx.lang, ctx.years)
        self.summary = case_stats.yearly_summary(self.case_table)
        self.comparisons = case_stats.compare_years(self.case_table)
        self.coded = coding.load_coded_data(ctx.data_dir, ctx.lang)
        self.stages = self.coded.codebook.stages
        self.facts = case_facts(ctx, self.case_table, self.summary, self.comparisons) | coding_facts(self.coded, ctx.lang)
        # Numbering follows the order in which tables and figures appear in the report.
        self.tables = ["cases", "case_intervals", "case_comparison", "segments_per_stage"] + [f"findings_{s}" for s in self.stages]
        self.figures = ["trend", "process", "stage_counts", "actor_stage", "triangulation"] + [f"stage_{s}" for s in self.stages]

    # --- numbering -----------------------------------------------------------------------
    def ref(self, kind: str, key: str) -> str:
        order = self.tables if kind == "table" else self.figures
        return f"{label('report.' + kind, self.lang)} {order.index(key) + 1}"

    # --- pieces --------------------------------------------------------------------------
    def title(self) -> Fragment:
        c = self.ctx
        lines = [f"<h1>{esc(self.t('title', kecamatan=c.kecamatan))}</h1>",
                 f"<p class='subtitle'>{esc(self.t('subtitle', kecamatan=c.kecamatan, kabupaten=c.kabupaten, provinsi=c.provinsi, code=c.region_code, period=c.period))}</p>"]
        if c.synthetic:
            lines.append(f"<p class='synthetic'>{esc(self.t('synthetic_banner'))}</p>")
        lines.append(f"<p class='study'>{esc(self.t('based_on'))} {esc(c.study['citation'])}</p>")
        return Fragment("<header class='title-block'>" + "".join(lines) + "</header>")

    def heading(self, key: str, level: int = 2) -> Fragment:
        return Fragment(f"<h{level} id='{esc(key)}'>{esc(self.t('sections.' + key))}</h{level}>")

    def text(self, section: str) -> Fragment:
        """The site's narrative for ``section`` in the report language, placeholders filled in."""
        path = self.ctx.data_dir / "text" / self.lang / f"{section}.md"
        if not path.is_file():
            raise DataError([Problem(display_path(path), None, None, "file not found: each report section needs its text in each language")])
        source = path.read_text("utf-8-sig")
        problems = []

        def fill(match: re.Match) -> str:
            key = match.group(1)
            if key.startswith(("table:", "figure:")):
                kind, name = key.split(":", 1)
                if name in (self.tables if kind == "table" else self.figures):
                    return self.ref(kind, name)
            elif key in self.facts:
                return self.facts[key]
            line = source[: match.start()].count("\n") + 1
            problems.append(Problem(display_path(path), line, key, f"unknown placeholder; known: {', '.join(sorted(self.facts))}"))
            return ""

        filled = _PLACEHOLDER.sub(fill, source)
        if problems:
            raise DataError(problems)
        return Fragment(f"<div class='narrative'>{_MARKDOWN.render(filled)}</div>")

    def table(self, key: str, head: list[str], rows: list[list[str]], title: str, source: str, numeric_from: int = 1) -> Fragment:
        cells = "".join(f"<th scope='col'>{esc(h)}</th>" for h in head)
        body = []
        for row in rows:
            tds = "".join(f"<td class='{'num' if i >= numeric_from else 'txt'}'>{esc(v)}</td>" for i, v in enumerate(row))
            body.append(f"<tr>{tds}</tr>")
        return Fragment(
            f"<div class='table-block' id='table-{esc(key)}'><table>"
            f"<caption>{esc(self.ref('table', key))}. {esc(title)}</caption>"
            f"<thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<p class='source'>{esc(label('report.source', self.lang))}: {esc(source)}</p></div>")

    def figure(self, key: str) -> Fragment:
        """A figure saved by an analysis notebook, embedded as PNG with its alt text and caption."""
        folder = self.ctx.figures_dir
        record = json.loads((folder / f"{key}.{self.lang}.json").read_text("utf-8"))
        data = base64.b64encode((folder / f"{key}.{self.lang}.png").read_bytes()).decode("ascii")
        return Fragment(
            f"<figure id='figure-{esc(key)}'><img src='data:image/png;base64,{data}' alt='{esc(record['alt'])}'/>"
            f"<figcaption>{esc(self.ref('figure', key))}. {esc(record['caption'])} "
            f"{esc(label('report.source', self.lang))}: {esc(record['source'])}</figcaption></figure>")

    # --- the case table ------------------------------------------------------------------
    def case_table_block(self) -> Fragment:
        t = self.case_table
        head = [self.t("col.year"), self.t("col.cases"), self.t("col.suspects")]
        rows = [[str(y), integer(c, self.lang), integer(s, self.lang)] for y, c, s in zip(t["year"], t["cases"], t["suspects"])]
        rows.append([self.t("col.total"), self.facts["cases_total"], self.facts["suspects_total"]])
        sources = "; ".join(dict.fromkeys(t["source"]))
        return self.table("cases", head, rows, self.t("tables.cases", kecamatan=self.ctx.kecamatan, period=self.ctx.period), sources)

    def case_intervals_block(self) -> Fragment:
        L = self.lang
        head = [self.t("col.year"), self.t("col.cases"), self.t("col.ci95"), self.t("col.suspects"), self.t("col.ci95"),
                self.t("col.suspects_per_case")]
        rows = [[str(int(r["year"])), integer(r["cases"], L), interval(r["cases_low"], r["cases_high"], L),
                 integer(r["suspects"], L), interval(r["suspects_low"], r["suspects_high"], L), number(r["suspects_per_case"], L)]
                for _, r in self.summary.iterrows()]
        return self.table("case_intervals", head, rows, self.t("tables.case_intervals"), self.t("stats_source"))

    def case_comparison_block(self) -> Fragment:
        L = self.lang
        head = [self.t("col.measure"), self.t("col.years"), self.t("col.change"), self.t("col.change_pct"),
                self.t("col.rate_ratio"), self.t("col.ci95"), "p", self.t("col.needed")]
        rows = []
        for c in self.comparisons:
            needed = self.t("needed_cell", low=integer(c.needed_at_most, L) if c.needed_at_most is not None else "–",
                            high=integer(c.needed_at_least, L))
            rows.append([self.t(f"col.{c.measure}"), f"{c.year_from}→{c.year_to}", signed(c.change, L),
                         percent(c.relative_change, L), number(c.rate_ratio, L), interval(c.ci_low, c.ci_high, L),
                         p_value(c.p_value, L), needed])
        return self.table("case_comparison", head, rows, self.t("tables.case_comparison"), self.t("stats_source"))

    # --- the coded findings --------------------------------------------------------------
    def segments_per_stage_block(self) -> Fragment:
        L = self.lang
        table = coding.segments_per_stage(self.coded, L)
        head = [self.t("col.stage"), self.t("col.segments"), self.t("col.share"), self.t("col.findings")]
        rows = [[r.label, integer(r.segments, L), percent(r.share, L, 0, sign=False), integer(r.findings, L)] for r in table.itertuples()]
        rows.append([self.t("col.total"), integer(table["segments"].sum(), L), percent(1.0, L, 0, sign=False), integer(table["findings"].sum(), L)])
        return self.table("segments_per_stage", head, rows, self.t("tables.segments_per_stage"), self.t("coding_source"))

    def stage_section(self, stage: str) -> Fragment:
        """One stage: heading, a sentence of counts, the site's text if any, findings table, figure."""
        L, book = self.lang, self.coded.codebook
        name = book.label(stage, L)
        table = coding.findings(self.coded, stage, L)
        kinds = table["statement"].value_counts()
        parts = [f"<h3 id='stage-{esc(stage)}'>{esc(name)}</h3>",
                 f"<p>{esc(self.t('stage_summary', findings=integer(kinds.get('finding', 0), L), conclusions=integer(kinds.get('conclusion', 0), L), framing=integer(kinds.get('framing', 0), L), documents=integer(kinds.get('documentation', 0), L), table=self.ref('table', 'findings_' + stage), figure=self.ref('figure', 'stage_' + stage)))}</p>"]
        narrative = self.ctx.data_dir / "text" / L / f"stage_{stage}.md"
        if narrative.is_file():
            parts.append(self.text(f"stage_{stage}"))
        head = [self.t("col.segment"), self.t("col.statement"), self.t("col.codes"), self.t("col.locator"), self.t("col.informant")]
        rows = [[f"{r.segment} ({self.t('kinds.' + r.statement)})", r.text, r.codes, r.locator, r.informant] for r in table.itertuples()]
        parts.append(self.table(f"findings_{stage}", head, rows, self.t("tables.findings", stage=name), self.t("coding_source"), numeric_from=99))
        parts.append(self.figure(f"stage_{stage}"))
        return Fragment("".join(parts))

    def t(self, key: str, **values) -> str:
        return label(f"report.{key}", self.lang, **values)


def coding_facts(data: coding.CodedData, lang: str) -> dict[str, str]:
    """Counts from the coded data that the narrative may cite."""
    seg = data.segments
    facts = {
        "segments_total": integer(len(seg), lang),
        "findings_total": integer(int((seg["statement"] == "finding").sum()), lang),
        "conclusions_total": integer(int((seg["statement"] == "conclusion").sum()), lang),
        "framing_total": integer(int((seg["statement"] == "framing").sum()), lang),
        "documents_total": integer(len(data.documents), lang),
        "stages_total": integer(len(data.codebook.stages), lang),
        "informants_total": integer(len(data.informants), lang),
        "unattributed_total": integer(int((seg["informant"] == coding.UNATTRIBUTED).sum()), lang),
        "codes_total": integer(len(data.codebook.codes), lang),
    }
    book = data.codebook
    used = {c for cell in data.segments["codes"] for c in coding.split_codes(cell)}
    facts["actors_without_segments"] = ", ".join(book.label(a, lang) for a in book.diagram_actors() if a not in used) or "–"
    return facts


def case_facts(ctx: SiteContext, table, summary, comparisons) -> dict[str, str]:
    """Every case-table number the narrative may cite, formatted in the report language."""
    L = ctx.lang
    facts = {
        "kecamatan": ctx.kecamatan, "kabupaten": ctx.kabupaten, "provinsi": ctx.provinsi,
        "region_code": ctx.region_code, "period": ctx.period,
        "year_first": str(ctx.years[0]), "year_last": str(ctx.years[-1]),
    }
    tot = case_stats.totals(table)
    for m in case_stats.MEASURES:
        facts[f"{m}_total"] = integer(tot[m], L)
        published = (ctx.study.get("published_totals") or {}).get(m)
        if published is not None:
            facts[f"{m}_total_published"] = integer(published, L)
            facts[f"{m}_total_check"] = label("report.total_matches" if published == tot[m] else "report.total_differs", L)
    published = ctx.study.get("published_totals") or {}
    if all(m in published for m in case_stats.MEASURES):
        same = all(published[m] == tot[m] for m in case_stats.MEASURES)
        facts["totals_check"] = label("report.total_matches" if same else "report.total_differs", L)
    for _, r in summary.iterrows():
        y = int(r["year"])
        for m in case_stats.MEASURES:
            facts[f"{m}_{y}"] = integer(r[m], L)
            facts[f"{m}_{y}_ci"] = interval(r[f"{m}_low"], r[f"{m}_high"], L)
        facts[f"suspects_per_case_{y}"] = number(r["suspects_per_case"], L)
    first, last = ctx.years[0], ctx.years[-1]
    for m in case_stats.MEASURES:
        x0 = int(table.loc[table["year"] == first, m].iloc[0])
        x1 = int(table.loc[table["year"] == last, m].iloc[0])
        rr, lo, hi, p = case_stats.rate_ratio_test(x0, x1)
        at_most, at_least = case_stats.significance_bounds(x0)
        facts[f"{m}_change"] = signed(x1 - x0, L)
        facts[f"{m}_change_pct"] = percent((x1 - x0) / x0, L) if x0 else "–"
        facts[f"{m}_rate_ratio"] = number(rr, L)
        facts[f"{m}_rate_ratio_ci"] = interval(lo, hi, L)
        facts[f"{m}_p"] = p_value(p, L)
        facts[f"{m}_needed_at_most"] = integer(at_most, L) if at_most is not None else "–"
        facts[f"{m}_needed_at_least"] = integer(at_least, L)
    return facts
