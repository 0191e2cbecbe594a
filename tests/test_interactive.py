"""The notebooks as JupyterLab and papermill users run them: from the repository or from notebooks/, with no
folders given; each site's run writes to a folder of its own; the report uses the site's build or says in one line
what to run first; the comparison runs with its own defaults."""

import pytest

from collabgov import context, figures
from collabgov.context import compendium_root, open_site, output_folder
from collabgov.errors import UsageError
from collabgov.site_comparison import check_sites
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


def saved(folder, keys, lang="id"):
    folder.mkdir(parents=True, exist_ok=True)
    for key in keys:
        (folder / f"{key}.{lang}.json").write_text("{}")


def figure_keys(ctx, data):
    from collabgov.coding import load_codebook

    stages = load_codebook(ctx.data_dir, ctx.lang).stages
    return [
        k
        for f in figures.REGISTRY
        if f.data == data
        for k in ([f"{f.key}_{s}" for s in stages] if f.section == "stage" else [f.key])
    ]


def test_the_report_names_in_one_line_the_notebooks_that_have_not_saved_its_figures(
    tmp_path, monkeypatch, no_build_variables
):
    sandbox = compendium(tmp_path, "pujud")
    monkeypatch.chdir(sandbox)
    ctx = open_site("pujud", "en")
    with pytest.raises(UsageError) as raised:
        ctx.with_saved_figures()
    text = str(raised.value)
    assert "\n" not in text and "'pujud'" in text and "make SITE=pujud" in text
    assert "01_case_table.ipynb, 02_stage_findings.ipynb" in text
    assert raised.value._render_traceback_() == [f"galat: {text}"]  # the site's language, in a notebook too
    saved(ctx.figures_dir, figure_keys(ctx, "cases"), "en")
    with pytest.raises(UsageError, match="disimpan oleh 02_stage_findings.ipynb: "):
        ctx.with_saved_figures()
    saved(ctx.figures_dir, figure_keys(ctx, "coded"), "en")
    assert ctx.with_saved_figures() is ctx


def test_without_its_notebooks_run_the_report_shows_the_sites_build(tmp_path, monkeypatch, capsys, no_build_variables):
    sandbox = compendium(tmp_path, "pujud")
    monkeypatch.chdir(sandbox)
    ctx = open_site("pujud", "id")
    saved(sandbox / "figures/pujud", figure_keys(ctx, "cases") + figure_keys(ctx, "coded"))
    with pytest.raises(UsageError):  # figures without the build's provenance: no build of this site
        ctx.with_saved_figures()
    (sandbox / "reports/pujud").mkdir(parents=True)
    (sandbox / "reports/pujud/provenance.json").write_text("{}")
    built = ctx.with_saved_figures()
    assert built.figures_dir == sandbox.resolve() / "figures/pujud"
    assert built.report_dir == sandbox.resolve() / "reports/pujud"
    assert "figures/pujud/" in capsys.readouterr().out


def test_a_site_named_twice_is_refused_in_one_line():
    with pytest.raises(UsageError, match=r"^site 'pujud' is named twice: .*SITES=\"pujud sintetis\"$"):
        check_sites(["pujud", "sintetis", "pujud"], "en")
    with pytest.raises(UsageError, match="at least two sites"):
        check_sites(["pujud"], "en")
    check_sites(["pujud", "sintetis"], "en")
