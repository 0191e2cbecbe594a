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
from .context import SiteContext
from .errors import DataError, Problem, display_path
from .i18n import integer, interval, label, number, p_value, percent, signed

# Numbering follows the order in which tables and figures appear in the report.
TABLES = ["cases", "case_intervals", "case_comparison"]
FIGURES = ["trend"]

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
        self.facts = case_facts(ctx, self.case_table, self.summary, self.comparisons)

    # --- numbering -----------------------------------------------------------------------
    def ref(self, kind: str, key: str) -> str:
        order = TABLES if kind == "table" else FIGURES
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
                if name in (TABLES if kind == "table" else FIGURES):
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
        record = json.loads((folder / f"{key}.json").read_text("utf-8"))
        data = base64.b64encode((folder / f"{key}.png").read_bytes()).decode("ascii")
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

    def t(self, key: str, **values) -> str:
        return label(f"report.{key}", self.lang, **values)


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
