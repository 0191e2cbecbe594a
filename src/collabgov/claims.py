"""The study's checkable claims, each recomputed from the data with a verdict.

A site lists its claims in ``claims.csv``: where each is made, which named check recomputes it,
and that check's arguments (``name=value; name=a,b``). Checks are plain functions in ``CHECKS``;
arguments are looked up, never evaluated. Verdicts: ``consistent``, ``not_supported``,
``not_checkable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import cases as case_stats
from . import coding
from .errors import DataError, Problem, display_path
from .i18n import integer, interval, label, message, number, p_value, percent, signed
from .tables import find_table, load_table

VERDICTS = ("consistent", "not_supported", "not_checkable")


@dataclass(frozen=True)
class Verdict:
    claim_id: str
    locator: str
    claim: str
    evidence: str
    verdict: str


def parse_arguments(cell: str | None) -> dict[str, list[str]]:
    """``"measure=cases; codes=a,b"`` -> ``{"measure": ["cases"], "codes": ["a", "b"]}``."""
    out = {}
    for part in (cell or "").split(";"):
        if part.strip():
            key, _, value = part.partition("=")
            out[key.strip()] = [v.strip() for v in value.split(",") if v.strip()]
    return out


class Checker:
    def __init__(self, ctx, case_table, coded: coding.CodedData):
        self.ctx, self.L = ctx, ctx.lang
        self.table, self.coded = case_table, coded

    def t(self, key: str, **values) -> str:
        return label(f"report.claims.{key}", self.L, **values)

    def published_totals(self, args):
        published = self.ctx.study.get("published_totals") or {}
        tot = case_stats.totals(self.table)
        if not published:
            return self.t("no_published_totals"), "not_checkable"
        parts = [
            self.t(
                "total_pair",
                measure=label(f"report.col.{m}", self.L),
                computed=integer(tot[m], self.L),
                published=integer(published[m], self.L),
            )
            for m in case_stats.MEASURES
            if m in published
        ]
        same = all(tot[m] == published[m] for m in published if m in tot)
        return "; ".join(parts), "consistent" if same else "not_supported"

    def stated_counts(self, args):
        year = int(args["year"][0])
        row = self.table[self.table["year"] == year]
        if row.empty:
            return self.t("year_missing", year=year), "not_checkable"
        parts, same = [], True
        for m in case_stats.MEASURES:
            if m in args:
                stated, found = int(args[m][0]), int(row[m].iloc[0])
                same &= stated == found
                parts.append(
                    self.t(
                        "stated_pair",
                        measure=label(f"report.col.{m}", self.L),
                        stated=integer(stated, self.L),
                        found=integer(found, self.L),
                    )
                )
        return "; ".join(parts), "consistent" if same else "not_supported"

    def count_change(self, args):
        measure, direction = args["measure"][0], args.get("direction", ["increase"])[0]
        first, last = self.table.iloc[0], self.table.iloc[-1]
        c = case_stats.compare(self.table, measure)
        x0, x1, p = c.count_from, c.count_to, c.p_value
        others = [m for m in case_stats.MEASURES if m != measure]
        other_changes = "; ".join(
            self.t(
                "other_change",
                measure=label(f"report.col.{m}", self.L),
                change=signed(int(last[m]) - int(first[m]), self.L),
            )
            if int(last[m]) != int(first[m])
            else self.t("other_no_change", measure=label(f"report.col.{m}", self.L).lower())
            for m in others
        )
        evidence = self.t(
            "change_evidence",
            change=signed(x1 - x0, self.L),
            pct=percent((x1 - x0) / x0, self.L) if x0 else "–",
            rr=number(c.rate_ratio, self.L),
            ci=interval(c.ci_low, c.ci_high, self.L),
            p=p_value(p, self.L),
            others=other_changes,
        )
        moved = (x1 > x0) if direction == "increase" else (x1 < x0)
        return evidence, "consistent" if moved and p < 0.05 else "not_supported"

    def informant_count(self, args):
        stated = self.ctx.study.get("informants")
        listed = len(self.coded.informants)
        named = int((self.coded.informants["role_status"] == "stated").sum())
        evidence = self.t(
            "informants_evidence",
            stated=stated if stated is not None else "–",
            listed=integer(listed, self.L),
            named=integer(named, self.L),
        )
        return evidence, "consistent" if stated == listed else "not_supported"

    def actors_named(self, args):
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

    def codes_in_findings(self, args):
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

    def not_checkable(self, args):
        reason = args.get("reason", ["unspecified"])[0]
        return self.t(f"reasons.{reason}"), "not_checkable"


CHECKS = (
    "published_totals",
    "stated_counts",
    "count_change",
    "informant_count",
    "actors_named",
    "codes_in_findings",
    "not_checkable",
)

# arguments each check needs, and where their values must come from
_NEEDS = {
    "stated_counts": ["year"],
    "count_change": ["measure"],
    "actors_named": ["actors"],
    "codes_in_findings": ["stage", "codes"],
}


def load_claims(folder: Path, lang: str, coded: coding.CodedData) -> list[dict]:
    rows = load_table(folder, "claims", lang, required=False) or []
    path = display_path(find_table(folder, "claims") or folder / "claims.csv")
    problems = []
    known = set(coded.codebook.codes.index)
    for n, row in enumerate(rows, start=2):
        args = parse_arguments(row["arguments"])
        for need in _NEEDS.get(row["check"], []):
            if not args.get(need):
                problems.append(
                    Problem(path, n, "arguments", message("check_needs", lang, check=row["check"], need=need))
                )
        for key in ("actors", "codes", "stage"):
            for code in args.get(key, []):
                if code not in known:
                    problems.append(Problem(path, n, "arguments", message("code_unknown", lang, code=code)))
        if row["check"] == "count_change" and args.get("measure", ["cases"])[0] not in case_stats.MEASURES:
            problems.append(
                Problem(path, n, "arguments", message("measure_one_of", lang, measures=", ".join(case_stats.MEASURES)))
            )
    if problems:
        raise DataError(problems)
    return rows


def check_claims(ctx, case_table, coded: coding.CodedData) -> list[Verdict]:
    checker = Checker(ctx, case_table, coded)
    out = []
    for row in load_claims(ctx.data_dir, ctx.lang, coded):
        evidence, verdict = getattr(checker, row["check"])(parse_arguments(row["arguments"]))
        out.append(Verdict(row["claim_id"], row["locator"], row[f"text_{ctx.lang}"], evidence, verdict))
    return out
