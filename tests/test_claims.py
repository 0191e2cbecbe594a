"""The claims table: a site without claims has no claims table in its report, and its texts may not cite
counts of claims that do not exist (the sentence would read 'Of 0 claims checked...')."""

import pytest

from collabgov.context import SiteContext
from collabgov.i18n import message
from collabgov.report import Report
from collabgov.sites import load_site
from collabgov.tables import read_table, write_table
from collabgov.validation import validate_site
from conftest import compendium


@pytest.fixture
def root(tmp_path):
    return compendium(tmp_path, "sintetis")


def test_a_site_with_claims_shows_them_in_a_numbered_table(root):
    report = Report(SiteContext(load_site(root, "sintetis"), "id", root / "out"))
    assert report.claims and "claims" in report.tables
    assert not [p for p in validate_site(load_site(root, "sintetis")).errors if (p.column or "").startswith("claims")]


@pytest.mark.parametrize("how", ["no rows", "no table"])
def test_without_claims_the_texts_may_not_cite_them_and_the_report_says_none_were_checked(root, how):
    claims = root / "data/sintetis/claims.xlsx"
    if how == "no rows":
        write_table(claims, read_table(claims).header, [])
    else:
        claims.unlink()
    site = load_site(root, "sintetis")
    cited = {
        (p.file.split("data/")[-1], p.row, p.column)
        for p in validate_site(site).errors
        if p.message.startswith("tabel claims")
    }
    expected = message("claims_empty_cited", "id")
    assert all(p.message == expected for p in validate_site(site).errors if "table:claims" in (p.column or ""))
    conclusions = "sintetis/text/id/conclusions.md"
    assert {c for c in cited if c[0] == conclusions} == {
        (conclusions, 1, "claims_consistent, claims_not_supported, claims_not_checkable, table:claims")
    }  # one line per file, at the first placeholder, naming them all
    report = Report(SiteContext(site, "id", root / "out"))
    assert report.claims == [] and "claims" not in report.tables
    appendix = report.appendix_claims()
    assert "Tabel claims situs ini kosong" in appendix and "<table" not in appendix


def test_over_three_years_a_change_is_judged_by_the_trend_over_all_of_them(tmp_path):
    """A claim that cases rose, on a site with three years: the evidence quotes the first and last counts (in the
    case table) and the trend test over all years (in the trend table), never a first-to-last ratio no table
    shows; the verdict follows the trend's test."""
    from student_site import CASES, make_student_site

    from collabgov.i18n import interval, number, p_value

    make_student_site(compendium(tmp_path, "pujud"))
    report = Report(SiteContext(load_site(tmp_path, "kota"), "id", tmp_path / "out"))
    claim = next(c for c in report.claims if c.claim_id == "K1")
    trend = next(t for t in report.trends if t.measure == "cases")
    assert "case_trend" in report.tables and len(CASES) == 3
    for shown in (
        number(trend.rate_ratio, "id"),
        interval(trend.ci_low, trend.ci_high, "id"),
        p_value(trend.p_value, "id"),
    ):
        assert shown in claim.evidence
    assert f"{CASES[0][1]} → {CASES[-1][1]}" in claim.evidence
    assert claim.verdict == ("consistent" if trend.p_value < 0.05 else "arithmetic_only")
