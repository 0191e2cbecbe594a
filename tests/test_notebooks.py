"""Source notebooks: one `parameters` cell, no outputs, and parameters that name the run and hold no site text."""

import ast

import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SITE_NOTEBOOKS = [p for p in NOTEBOOKS if p.name != "compare.ipynb"]  # compare takes a list of sites


def parameters(path) -> dict:
    nb = nbformat.read(path, as_version=4)
    source = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(source).body if isinstance(n, ast.Assign)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_parameters_cell_and_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters', found {len(tagged)}"
    assert nb.metadata.kernelspec.name == "collabgov"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name} is saved with outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_at_most_four_parameters_and_none_holds_site_text(path):
    defaults = parameters(path)
    assert len(defaults) <= 4
    assert set(defaults) <= {"site", "sites", "lang", "output_dir", "root"}
    assert all(
        v is None or isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
        for v in defaults.values()
    )
    assert defaults["root"] is None and defaults["output_dir"] is None  # found from where the notebook runs


@pytest.mark.parametrize("path", SITE_NOTEBOOKS, ids=lambda p: p.name)
def test_site_notebooks_open_the_site_through_the_package(path):
    defaults = parameters(path)
    assert defaults == {"site": "pujud", "lang": "id", "output_dir": None, "root": None}
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "open_site(site, lang, output_dir, root)" in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_cell_speaks_of_one_site_but_the_default_parameters(path):
    """An executed notebook of a student's site must not read like Pujud's: only the default parameters (replaced
    by papermill's injected cell) may name a site, and no cell names a region of one."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            continue
        for word in ("pujud", "rokan", "riau", "data/pujud"):
            assert word not in cell.source.lower(), f"{path.name}: a cell names {word!r}: {cell.source[:80]!r}"


def test_the_comparison_compares_two_sites_of_the_compendium_by_default():
    defaults = parameters(ROOT / "notebooks" / "compare.ipynb")
    assert set(defaults) == {"sites", "lang", "root", "output_dir"}
    assert len(set(defaults["sites"])) == len(defaults["sites"]) == 2
    assert all((ROOT / "data" / slug / "site.yaml").is_file() for slug in defaults["sites"])
