"""The notebooks as JupyterLab and papermill users run them: from the repository or from notebooks/, with no
folders given; each site's run writes to a folder of its own."""

import pytest

from collabgov import context
from collabgov.context import compendium_root, open_site, output_folder
from conftest import ROOT, compendium

FOLDER_VARIABLES = (context.INPUT_ROOT_ENV, context.OUTPUT_DIR_ENV, "COLLABGOV_ROOT")


@pytest.fixture
def no_build_variables(monkeypatch):
    for name in FOLDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# --- where a notebook reads and writes, when it is given no folder -------------------------------------------


def test_the_compendium_is_the_one_holding_the_current_folder_else_the_packages_checkout(
    tmp_path, monkeypatch, no_build_variables
):
    sandbox = compendium(tmp_path / "copy", "sintetis", notebooks=True)
    monkeypatch.chdir(sandbox / "notebooks")  # JupyterLab's kernels, and papermill --cwd notebooks
    assert compendium_root() == sandbox.resolve()
    monkeypatch.chdir(sandbox)  # papermill from the repository, as its documentation runs it
    assert compendium_root() == sandbox.resolve()
    monkeypatch.chdir(tmp_path)  # outside any compendium: the checkout the package is installed from
    assert compendium_root() == ROOT
    monkeypatch.setenv(context.INPUT_ROOT_ENV, str(sandbox))  # the build's kernels
    assert compendium_root() == sandbox
    assert compendium_root(tmp_path / "given") == tmp_path / "given"


def test_the_output_folder_follows_the_site(tmp_path, monkeypatch, no_build_variables):
    sandbox = compendium(tmp_path, "pujud", "sintetis")
    monkeypatch.chdir(sandbox)
    assert open_site("pujud", "id").output_dir == sandbox.resolve() / "build/interactive/pujud"
    assert open_site("sintetis", "en").output_dir == sandbox.resolve() / "build/interactive/sintetis"
    assert open_site("sintetis", "en", tmp_path / "given").output_dir == tmp_path / "given"
    monkeypatch.setenv(context.OUTPUT_DIR_ENV, str(tmp_path / "work"))  # the build's kernels
    assert output_folder(sandbox, "sintetis") == tmp_path / "work"
