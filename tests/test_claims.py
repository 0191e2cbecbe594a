"""The claims table: a site without claims has no claims table in its report, and its texts may not cite
counts of claims that do not exist (the sentence would read 'Of 0 claims checked...')."""

import shutil

import pytest

from collabgov.context import SiteContext
from collabgov.i18n import message
from collabgov.report import Report
from collabgov.sites import load_site
from collabgov.tables import read_table, write_table
from collabgov.validation import validate_site
from conftest import ROOT


@pytest.fixture
def root(tmp_path):
    shutil.copytree(ROOT / "data/sintetis", tmp_path / "data/sintetis")
    (tmp_path / "Makefile").write_text("")
    return tmp_path


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
