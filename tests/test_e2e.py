"""The whole pipeline for Pujud, through papermill, into a temporary folder."""

import re

import pytest

from conftest import text_of

pytestmark = pytest.mark.e2e


def test_outputs_land_where_the_readme_says(built):
    for path in (
        "figures/pujud/trend.id.png",
        "figures/pujud/trend.en.svg",
        "reports/pujud/report.id.html",
        "reports/pujud/report.en.html",
        "reports/pujud/executed/01_case_table.ipynb",
        "reports/pujud/executed/report.id.ipynb",
    ):
        assert (built / path).is_file(), path
    assert not (built / "build" / "pujud.tmp").exists()
    for figure in ("stage_counts", "actor_stage", "triangulation", "process"):
        for lang in ("id", "en"):
            for suffix in ("png", "svg"):
                assert (built / f"figures/pujud/{figure}.{lang}.{suffix}").is_file(), (figure, lang, suffix)


def test_report_has_a_section_per_stage_with_table_and_figure(built):
    html = (built / "reports/pujud/report.en.html").read_text("utf-8")
    text = text_of(html)
    assert "not interview transcripts" in text
    for stage in ("dialogue", "trust_building", "commitment", "shared_understanding", "intermediate_outcomes"):
        assert f'id="stage-{stage}"' in html or f"id='stage-{stage}'" in html, stage
        assert f"table-findings_{stage}" in html and f"figure-stage_{stage}" in html, stage
    assert "Coded statements on the stage face-to-face dialogue" in text
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert "not attributed" in cells and "unattributed" not in cells  # the data's code, said in words


def test_indonesian_report_shows_the_numbers(built):
    html = (built / "reports/pujud/report.id.html").read_text("utf-8")
    text = text_of(html)
    for expected in (
        "2021 14 23",
        "2022 15 23",
        "Jumlah 29 46",
        "sama dengan jumlah yang diterbitkan",
        "1,07",
        "0,48–2,40",
        "p = 1,00",
        "7,65–23,49",
        "8,40–24,74",
        "14,58–34,51",
        "1,64",
        "1,53",
        "+7,1%",
        "≤ 4 atau ≥ 28",
    ):
        assert expected in text, expected


def test_english_report_uses_the_decimal_point(built):
    text = text_of((built / "reports/pujud/report.en.html").read_text("utf-8"))
    for expected in ("Total 29 46", "1.07", "0.48–2.40", "p = 1.00", "7.65–23.49"):
        assert expected in text, expected


def test_report_opens_offline(built):
    html = (built / "reports/pujud/report.id.html").read_text("utf-8")
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert 'src="data:image/png;base64,' in html or "src='data:image/png;base64," in html
    assert re.search(r"alt=[\"'][^\"']*14 kasus", html)
    assert "import collabgov" not in html  # code hidden


def test_no_figure_is_cut_off_at_its_edges(built):
    """Every figure keeps a blank margin: a label or bar touching the edge of the PNG was cut off."""
    import numpy as np
    from PIL import Image

    cut = []
    for png in sorted((built / "figures").glob("*/*.png")):
        grey = np.asarray(Image.open(png).convert("L"))
        edges = {"left": grey[:, :4], "right": grey[:, -4:], "top": grey[:4], "bottom": grey[-4:]}
        cut += [f"{png.parent.name}/{png.name} ({side})" for side, strip in edges.items() if (strip < 250).any()]
    assert cut == []
