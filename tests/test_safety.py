"""Untrusted data: names cannot leave data/, text is escaped in HTML, and no site text reaches a notebook's code."""

import ast

import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from collabgov import coding
from collabgov.context import SiteContext
from collabgov.errors import UsageError
from collabgov.report import Report
from collabgov.scheduler import parameters
from collabgov.sites import load_site
from conftest import ROOT, compendium

NASTY = 'Pu"jud\'\n<script>alert(1)</script> """; import os; os.system("echo owned") #'


@pytest.fixture
def site(tmp_path):
    return compendium(tmp_path, "pujud")


def test_site_names_cannot_leave_data(site):
    for name in ("../../etc", "pujud/../../x", "%2e%2e", "pujud\x00"):
        with pytest.raises(UsageError):
            load_site(site, name)


def test_text_from_the_data_is_escaped_in_html(site):
    seg = site / "data/pujud/segments.csv"
    text = seg.read_text()
    first = text.splitlines()[2].split(",")[0]  # a finding's id
    seg.write_text(text.replace(f"{first},", f"{first},", 1))
    md = site / "data/pujud/text/en/results.md"
    md.write_text(md.read_text() + "\n<script>alert(2)</script>\n")
    loaded = load_site(site, "pujud")
    loaded.params["kecamatan"] = NASTY
    report = Report(SiteContext(loaded, "en", site / "out"))
    table = coding.findings(report.coded, report.stages[0], "en")
    rows = [[NASTY] + [str(v) for v in row[1:]] for row in table.values.tolist()]
    html = report.table(f"findings_{report.stages[0]}", list(table.columns), rows, "t", "s")
    html += report.text("results") + report.title()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_papermill_receives_names_only_whatever_the_site_says(site):
    """The parameters cell papermill writes holds two literal strings, none from the site's files, and no path."""
    loaded = load_site(site, "pujud")
    params = parameters(loaded.slug, "id")
    nb = load_notebook_node(str(ROOT / "notebooks/01_case_table.ipynb"))  # as papermill loads it
    injected = parameterize_notebook(nb, params)
    cell = next(c for c in injected.cells if "injected-parameters" in c.metadata.get("tags", []))
    values = {}
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign), ast.dump(node)  # nothing but assignments of literals
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert values == {"site": "pujud", "lang": "id"}
