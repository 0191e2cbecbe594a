"""The study's claims, each recomputed from the data where data can answer it, with a verdict and its reason.

A site lists its claims in ``claims.csv``: where each is made, which named check recomputes it,
that check's arguments (``name=value; name=a,b``), and for claims that data cannot answer, one
sentence saying why (``reason_id``, ``reason_en``). Checks are methods of ``Checker`` named in
``CHECKS``; arguments are looked up, never evaluated.

Verdicts keep apart what can be checked from what cannot:

- ``consistent``: the data say what the claim says;
- ``not_supported``: the data do not say it;
- ``arithmetic_only``: a change that is there in the counts, but within what chance alone gives
  (the exact test's p >= 0.05), so not a change beyond chance;
- ``normative``: a statement of what should be, not a fact to check;
- ``not_checkable``: a factual claim that no data here can answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import cases as case_stats
from . import coding
from .errors import DataError, Problem, display_path
from .i18n import integer, interval, label, labeller, message, number, p_value, percent, signed
from .tables import find_table, load_table

VERDICTS = ("consistent", "arithmetic_only", "not_supported", "normative", "not_checkable")
CHECKS = (
    "published_totals",
    "stated_counts",
    "count_change",
    "informant_count",
    "actors_named",
    "codes_in_findings",
    "not_checkable",
    "normative",
)
# arguments each check needs
_NEEDS = {
    "stated_counts": ["year"],
    "count_change": ["measure"],
    "actors_named": ["actors"],
    "codes_in_findings": ["stage", "codes"],
}


@dataclass(frozen=True)
class Verdict:
    claim_id: str
    locator: str
    claim: str
    evidence: str  # what was recomputed
    verdict: str
    reason: str  # the verdict's reason, one sentence


def parse_arguments(cell: str | None) -> dict[str, list[str]]:
    """``"measure=cases; codes=a,b"`` -> ``{"measure": ["cases"], "codes": ["a", "b"]}``."""
    out = {}
    for part in (cell or "").split(";"):
        if part.strip():
            key, _, value = part.partition("=")
            out[key.strip()] = [v.strip() for v in value.split(",") if v.strip()]
    return out


class Checker:
    """One method per check: ``(arguments, row) -> (evidence, verdict)``."""

    def __init__(self, ctx, case_table, coded: coding.CodedData):
        self.ctx, self.L = ctx, ctx.lang
        self.table, self.coded = case_table, coded

    def t(self, key: str, **values) -> str:
        return labeller("report.claims", self.L)(key, **values)

    def measure(self, m: str) -> str:
        return label(f"report.col.{m}", self.L)

    def published_totals(self, args, row):
        published = self.ctx.study.get("published_totals") or {}
        tot = case_stats.totals(self.table)
        if not published:
            return self.t("no_published_totals"), "not_checkable"
        parts = [
            self.t(
                "total_pair",
                measure=self.measure(m),
                computed=integer(tot[m], self.L),
                published=integer(published[m], self.L),
            )
            for m in case_stats.MEASURES
            if m in published
        ]
        same = all(tot[m] == published[m] for m in published if m in tot)
        return "; ".join(parts), "consistent" if same else "not_supported"

    def stated_counts(self, args, row):
        year = int(args["year"][0])
        found_row = self.table[self.table["year"] == year]
        if found_row.empty:
            return self.t("year_missing", year=year), "not_checkable"
        parts, same = [], True
        for m in case_stats.MEASURES:
            if m in args:
                stated, found = int(args[m][0]), int(found_row[m].iloc[0])
                same &= stated == found
                parts.append(
                    self.t(
                        "stated_pair",
                        measure=self.measure(m),
                        stated=integer(stated, self.L),
                        found=integer(found, self.L),
                    )
                )
        return "; ".join(parts), "consistent" if same else "not_supported"

    def count_change(self, args, row):
        """A rise or fall: is it in the counts (arithmetic), and is it beyond chance (the exact test)? Over two
        years the test compares them; over three or more it is the trend over all years (Tabel case_trend), so
        that the middle years count and the evidence quotes only what the report's tables show."""
        measure, direction = args["measure"][0], args.get("direction", ["increase"])[0]
        if len(self.table) >= 3:
            tr = case_stats.trend_test(self.table, measure)
            x0, x1, p, up = tr.counts[0], tr.counts[-1], tr.p_value, tr.rate_ratio > 1
            evidence = self.t(
                "trend_evidence",
                years=f"{tr.years[0]}–{tr.years[-1]}",
                first=integer(x0, self.L),
                last=integer(x1, self.L),
                rr=number(tr.rate_ratio, self.L),
                ci=interval(tr.ci_low, tr.ci_high, self.L),
                p=p_value(p, self.L),
            )
        else:
            c = case_stats.compare(self.table, measure)
            x0, x1, p, up = c.count_from, c.count_to, c.p_value, c.count_to > c.count_from
            evidence = self.t(
                "change_evidence",
                years=f"{c.year_from}→{c.year_to}",
                change=signed(x1 - x0, self.L),
                pct=percent((x1 - x0) / x0, self.L) if x0 else "–",
                rr=number(c.rate_ratio, self.L),
                ci=interval(c.ci_low, c.ci_high, self.L),
                p=p_value(p, self.L),
            )
        moved = (x1 > x0) if direction == "increase" else (x1 < x0)
        if not moved:
            return evidence, "not_supported"
        beyond_chance = p < 0.05 and up == (direction == "increase")
        return evidence, "consistent" if beyond_chance else "arithmetic_only"

    def informant_count(self, args, row):
        stated = int(args["stated"][0]) if args.get("stated") else self.ctx.study.get("published_informants")
        listed = len(self.coded.informants)
        named = int((self.coded.informants["role_status"] == "stated").sum())
        evidence = self.t(
            "informants_evidence",
            stated=integer(stated, self.L) if stated is not None else "–",
            listed=integer(listed, self.L),
            named=integer(named, self.L),
        )
        if stated is None:
            return evidence, "not_checkable"
        return evidence, "consistent" if stated == listed else "not_supported"

    def actors_named(self, args, row):
        used = coding.codes_in_statements(self.coded)
        actors = args["actors"]
        missing = [self.coded.codebook.label(a, self.L) for a in actors if a not in used]
        evidence = self.t(
            "actors_evidence",
            named=integer(len(actors) - len(missing), self.L),
            total=integer(len(actors), self.L),
            missing=", ".join(missing) or "–",
        )
        return evidence, "consistent" if not missing else "not_supported"

    def codes_in_findings(self, args, row):
        stage = args["stage"][0]
        seg = self.coded.segments
        rows = seg[(seg["stage"] == stage) & (seg["statement"] == "finding")]  # conclusions are what is checked
        parts, ok = [], True
        for code in args["codes"]:
            ids = [s for s, cell in zip(rows["segment_id"], rows["codes"]) if code in coding.split_codes(cell)]
            ok &= bool(ids)
            parts.append(
                self.t(
                    "code_evidence",
                    code=self.coded.codebook.label(code, self.L),
                    n=integer(len(ids), self.L),
                    ids=", ".join(ids) or "–",
                )
            )
        return "; ".join(parts), "consistent" if ok else "not_supported"

    def not_checkable(self, args, row):
        return "–", "not_checkable"

    def normative(self, args, row):
        return "–", "normative"


def load_claims(folder: Path, lang: str, coded: coding.CodedData | None) -> list[dict]:
    """The site's claims (none when it has no claims table); codes are checked against ``coded``'s codebook."""
    rows = load_table(folder, "claims", lang, required=False) or []
    path = display_path(find_table(folder, "claims") or folder / "claims.csv")
    problems = []
    known = set(coded.codebook.codes.index) if coded is not None else None
    for n, row in enumerate(rows, start=2):
        args = parse_arguments(row["arguments"])
        for need in _NEEDS.get(row["check"], []):
            if not args.get(need):
                problems.append(
                    Problem(path, n, "arguments", message("check_needs", lang, check=row["check"], need=need))
                )
        if known is not None:
            for key in ("actors", "codes", "stage"):
                for code in args.get(key, []):
                    if code not in known:
                        problems.append(Problem(path, n, "arguments", message("code_unknown", lang, code=code)))
        if row["check"] == "count_change" and args.get("measure", ["cases"])[0] not in case_stats.MEASURES:
            measures = ", ".join(case_stats.MEASURES)
            problems.append(Problem(path, n, "arguments", message("measure_one_of", lang, measures=measures)))
        if row["check"] in ("not_checkable", "normative"):
            for column in ("reason_id", "reason_en"):
                if not row.get(column):
                    problems.append(Problem(path, n, column, message("reason_needed", lang, check=row["check"])))
    if problems:
        raise DataError(problems)
    return rows


def check_claims(ctx, case_table, coded: coding.CodedData) -> list[Verdict]:
    checker = Checker(ctx, case_table, coded)
    out = []
    for row in load_claims(ctx.data_dir, ctx.lang, coded):
        evidence, verdict = getattr(checker, row["check"])(parse_arguments(row["arguments"]), row)
        reason = row.get(f"reason_{ctx.lang}") or label(f"report.claims.reasons.{verdict}", ctx.lang)
        out.append(Verdict(row["claim_id"], row["locator"], row[f"text_{ctx.lang}"], evidence, verdict, reason))
    return out
