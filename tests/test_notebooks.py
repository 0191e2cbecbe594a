"""Source notebooks: exactly one `parameters` cell, no outputs, parameters that cover site.yaml."""

import ast

import nbformat
import pytest
import yaml

from collabgov.sites import PARAMETERS

NOTEBOOKS = sorted((__import__("conftest").ROOT / "notebooks").glob("*.ipynb"))
SITE_NOTEBOOKS = [p for p in NOTEBOOKS if p.name != "compare.ipynb"]  # compare takes a list of sites


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_parameters_cell_and_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters', found {len(tagged)}"
    assert nb.metadata.kernelspec.name == "collabgov"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name} is saved with outputs"


@pytest.mark.parametrize("path", SITE_NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cover_site_yaml_and_default_to_pujud(path, root):
    nb = nbformat.read(path, as_version=4)
    source = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    defaults = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(source).body if isinstance(n, ast.Assign)}
    expected = {"site", "lang", "data_dir", "output_dir"} | (set(PARAMETERS) - {"default_language"})
    assert set(defaults) == expected
    pujud = yaml.safe_load((root / "data/pujud/site.yaml").read_text())
    for key, value in pujud.items():
        if key != "default_language":
            assert defaults[key] == value, f"{path.name}: default of {key} differs from data/pujud/site.yaml"
