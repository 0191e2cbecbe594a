"""The numbers a site's narrative may cite, each formatted in the report's language.

Every fact here stands in a table or figure of the report (a test checks that the narrative quotes no
number that none of them shows): the case table's counts, intervals, year-on-year comparisons and,
with three or more years, the trend over all years; and counts of the coded data.
"""

from __future__ import annotations

from . import cases as case_stats
from . import coding
from .context import SiteContext
from .i18n import integer, interval, label, number, p_value, percent, signed

CODING_FACTS = (
    "segments_total",
    "findings_total",
    "conclusions_total",
    "theory_total",
    "documents_total",
    "stages_total",
    "stages_with_findings",
    "informants_total",
    "unattributed_total",
    "codes_total",
    "diagram_actors_total",
    "diagram_actors_unnamed",
    "actors_without_segments",
    "segments_unmapped",
)


def coding_facts(data: coding.CodedData, lang: str) -> dict[str, str]:
    """Counts from the coded data that the narrative may cite (each stands in a table or figure)."""
    seg, book = data.segments, data.codebook
    unnamed = coding.unnamed_diagram_actors(data)
    with_findings = sum(1 for s in book.stages if ((seg["stage"] == s) & (seg["statement"] == "finding")).any())
    facts = {
        "segments_total": len(seg[seg["stage"].isin(book.stages)]),
        "findings_total": int(((seg["statement"] == "finding") & seg["stage"].isin(book.stages)).sum()),
        "conclusions_total": int(((seg["statement"] == "conclusion") & seg["stage"].isin(book.stages)).sum()),
        "theory_total": int(((seg["statement"] == "theory") & seg["stage"].isin(book.stages)).sum()),
        "documents_total": len(data.documents),
        "stages_total": len(book.stages),
        "stages_with_findings": with_findings,
        "informants_total": len(data.informants),
        "unattributed_total": int((seg["informant"] == coding.UNATTRIBUTED).sum()),
        "codes_total": len(book.codes),
        "diagram_actors_total": len(book.diagram_actors()),
        "diagram_actors_unnamed": len(unnamed),
        "segments_unmapped": int((~seg["stage"].isin(book.stages)).sum()),
    }
    out = {k: integer(v, lang) for k, v in facts.items()}
    out["actors_without_segments"] = ", ".join(book.label(a, lang) for a in unnamed) or "–"
    return out


def case_facts(ctx: SiteContext, table, summary, trends, lang: str) -> dict[str, str]:
    """Every case-table number the narrative may cite, formatted in ``lang``; each stands in a table.

    Year-on-year comparisons are named by their years (``cases_rate_ratio_2021_2022``); with exactly
    two years the one comparison also has the short names (``cases_rate_ratio``). With three or more
    years the trend over all years is ``cases_trend_rr``, ``cases_trend_ci``, ``cases_trend_p``."""
    L = lang
    facts = {}
    tot = case_stats.totals(table)
    published = ctx.study.get("published_totals") or {}
    for m in case_stats.MEASURES:
        facts[f"{m}_total"] = integer(tot[m], L)
        if m in published:
            facts[f"{m}_total_published"] = integer(published[m], L)
    if published:
        same = all(published[m] == tot[m] for m in published)
        facts["totals_check"] = label("report.total_matches" if same else "report.total_differs", L)
    for _, r in summary.iterrows():
        y = int(r["year"])
        for m in case_stats.MEASURES:
            facts[f"{m}_{y}"] = integer(r[m], L)
            facts[f"{m}_{y}_ci"] = interval(r[f"{m}_low"], r[f"{m}_high"], L)
        facts[f"suspects_per_case_{y}"] = number(r["suspects_per_case"], L)
    for c in case_stats.compare_years(table):
        m, pair = c.measure, f"{c.year_from}_{c.year_to}"
        values = {
            "change": signed(c.change, L),
            "change_pct": percent(c.relative_change, L) if c.count_from else "–",
            "rate_ratio": number(c.rate_ratio, L),
            "rate_ratio_ci": interval(c.ci_low, c.ci_high, L),
            "p": p_value(c.p_value, L),
            "needed_at_most": integer(c.needed_at_most, L) if c.needed_at_most is not None else "–",
            "needed_at_least": integer(c.needed_at_least, L),
        }
        for name, value in values.items():
            facts[f"{m}_{name}_{pair}"] = value
            if len(table) == 2:
                facts[f"{m}_{name}"] = value
    for tr in trends:
        facts[f"{tr.measure}_trend_rr"] = number(tr.rate_ratio, L)
        facts[f"{tr.measure}_trend_ci"] = interval(tr.ci_low, tr.ci_high, L)
        facts[f"{tr.measure}_trend_p"] = p_value(tr.p_value, L)
    return facts
