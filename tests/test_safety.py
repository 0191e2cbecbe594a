"""Untrusted data: names cannot leave data/, text is escaped in HTML, parameters reach notebooks as literals."""

import ast
import shutil

import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from collabgov import coding
from collabgov.context import SiteContext
from collabgov.errors import UsageError
from collabgov.report import Report
from collabgov.sites import load_site, notebook_parameters
from conftest import ROOT

NASTY = 'Pu"jud\'\n<script>alert(1)</script> """; import os; os.system("echo owned") #'


@pytest.fixture
def site(tmp_path):
    shutil.copytree(ROOT / "data/pujud", tmp_path / "data/pujud")
    (tmp_path / "Makefile").write_text("")
    return tmp_path


def test_site_names_cannot_leave_data(site):
    for name in ("../../etc", "pujud/../../x", "%2e%2e", "pujud\x00"):
        with pytest.raises(UsageError):
            load_site(site, name)


def test_text_from_the_data_is_escaped_in_html(site):
    seg = site / "data/pujud/segments.csv"
    seg.write_text(
        seg.read_text().replace(
            "The stakeholders involved held the dialogue", "<script>alert(1)</script> held the dialogue"
        )
    )
    md = site / "data/pujud/text/en/results.md"
    md.write_text(md.read_text() + "\n<script>alert(2)</script> <img src=x onerror=alert(3)>\n")
    params = load_site(site, "pujud").params
    ctx = SiteContext(
        site="pujud",
        lang="en",
        data_dir=site / "data/pujud",
        output_dir=site / "out",
        kecamatan=NASTY,
        kabupaten="R",
        provinsi="Riau",
        region_code="14.07.08",
        years=[2021, 2022],
        study=params["study"],
    )
    report = Report(ctx)
    table = coding.findings(report.coded, "dialogue", "en")
    html = (
        report.table("findings_dialogue", list(table.columns), table.values.tolist(), "t", "s")
        + report.text("results")
        + report.title()
    )
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_parameters_reach_notebooks_as_literals(site):
    loaded = load_site(site, "pujud")
    loaded.params["kecamatan"] = NASTY
    loaded.params["study"]["title"] = NASTY
    params = notebook_parameters(loaded, "id", site / "out")
    nb = load_notebook_node(str(ROOT / "notebooks/01_case_table.ipynb"))  # as papermill loads it
    injected = parameterize_notebook(nb, params)
    cell = next(c for c in injected.cells if "injected-parameters" in c.metadata.get("tags", []))
    tree = ast.parse(cell.source)
    values = {}
    for node in tree.body:
        assert isinstance(node, ast.Assign), ast.dump(node)  # nothing but assignments of literals
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert values["kecamatan"] == NASTY and values["study"]["title"] == NASTY
    assert values["region_code"] == "14.07.08"  # stays text, not a number
