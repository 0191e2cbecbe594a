"""The SYNTHETIC demo site `sintetis`: spreadsheet path (cases.xlsx) and import path (a .qdpx), built
end to end, labelled synthetic wherever it appears, and compared with Pujud."""

import filecmp

import pytest

from collabgov.build import build
from collabgov.site_comparison import build_comparison
from collabgov.site_import import import_into_site
from conftest import ROOT, text_of

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory, built):
    root = built  # the session's built copy, with Pujud and the synthetic site
    import_into_site(root, "sintetis", root / "data/sintetis/import/wawancara-sintetis.qdpx")
    build(root, "sintetis")  # the re-imported tables are the committed ones: nothing to rerun
    return root


def test_the_import_reproduces_the_committed_tables(demo):
    for name in ("codebook.csv", "informants.csv", "segments.csv", "sources.csv"):
        assert filecmp.cmp(demo / "data/sintetis" / name, ROOT / "data/sintetis" / name, shallow=False), name


def test_synthetic_is_said_everywhere(demo):
    for lang in ("id", "en"):
        html = (demo / f"reports/sintetis/report.{lang}.html").read_text("utf-8")
        assert ("DATA SINTETIS" if lang == "id" else "SYNTHETIC DATA") in text_of(html)
        assert html.count("[SINTETIS / SYNTHETIC]") >= 10  # every figure caption and alt text
    gallery = (demo / "figures/sintetis/index.html").read_text("utf-8")
    assert "SINTETIS / SYNTHETIC" in gallery


def test_agreement_between_the_two_coders_is_reported(demo):
    text = text_of((demo / "reports/sintetis/report.en.html").read_text("utf-8"))
    assert "Agreement between coders per code" in text and "Krippendorff" in text


def test_comparison_report(demo):
    target = build_comparison(demo, ["pujud", "sintetis"])
    for lang in ("id", "en"):
        html = (target / f"comparison.{lang}.html").read_text("utf-8")
        text = text_of(html)
        assert "Pujud (pujud)" in text and "Contoh (sintetis)" in text
        assert "7,65–23,49" in text if lang == "id" else "7.65–23.49" in text
        assert ("SINTETIS" if lang == "id" else "SYNTHETIC") in text
        assert html.count("<figure") == 2 and "<script" not in html
