"""The notebooks as JupyterLab and papermill users run them: from the repository or from notebooks/, with no
folders given; each site's run writes to a folder of its own; the report uses the site's build or says in one line
what to run first; the comparison runs with its own defaults. Every run writes into a throw-away compendium."""

import base64
import json
import os
import stat
import subprocess
import sys

import nbformat
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
    assert raised.value._render_traceback_() == [f"error: {text}"]  # the run's language, in a notebook too
    saved(ctx.figures_dir, figure_keys(ctx, "cases"), "en")
    with pytest.raises(UsageError, match="figures that 02_stage_findings.ipynb save: "):
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


# --- Binder and JupyterLab ------------------------------------------------------------------------------------


def test_binder_registers_the_kernel_the_notebooks_ask_for():
    """repo2docker runs the repository's postBuild (it reads only binder/ or .binder/ when either exists)."""
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()
    script = ROOT / "postBuild"
    assert script.stat().st_mode & stat.S_IXUSR
    lines = script.read_text().splitlines()
    assert lines[0] == "#!/bin/bash" and "set -euo pipefail" in lines
    kernels = {nbformat.read(p, as_version=4).metadata.kernelspec.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert kernels == {"collabgov"}
    assert any(line.startswith("python -m ipykernel install --sys-prefix --name collabgov ") for line in lines)


def test_make_lab_takes_a_port_and_no_browser():
    def lab(*args):
        env = {k: v for k, v in os.environ.items() if k not in ("PORT", "NO_BROWSER")}
        run = subprocess.run(
            ["make", "-n", "--no-print-directory", "lab", *args], cwd=ROOT, env=env, capture_output=True
        )
        command = run.stdout.decode().split("jupyter lab ", 1)[1]
        return command.split("\n\n")[0]

    assert "--port=9999" in lab("PORT=9999") and "--no-browser" in lab("NO_BROWSER=1")
    assert "--port" not in lab() and "--no-browser" not in lab() and "--no-browser" not in lab("NO_BROWSER=0")


# --- papermill, run as its users run it -----------------------------------------------------------------------


def papermill(cwd, notebook, out, *args, in_notebooks=False):
    """``papermill notebooks/<notebook> <out> ...`` in ``cwd`` (``--cwd notebooks`` when ``in_notebooks``)."""
    env = {k: v for k, v in os.environ.items() if k not in FOLDER_VARIABLES}
    cwd_option = ["--cwd", "notebooks"] if in_notebooks else []
    command = [sys.executable, "-m", "papermill", *cwd_option, f"notebooks/{notebook}", str(out), *args]
    run = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    return run, nbformat.read(out, as_version=4) if out.exists() else None


def error_lines(nb) -> list[str]:
    return [line for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error" for line in o.traceback]


@pytest.mark.e2e  # two notebook runs
def test_papermill_from_the_repository_and_then_for_another_site_from_notebooks(tmp_path):
    sandbox = compendium(tmp_path / "copy", "pujud", "sintetis", notebooks=True)
    run, _ = papermill(sandbox, "01_case_table.ipynb", tmp_path / "cases.ipynb", "-p", "lang", "en")
    assert run.returncode == 0, run.stderr
    written = json.loads((sandbox / "build/interactive/pujud/figures/trend.en.json").read_text())
    assert "Pujud" in written["caption"]
    # Pujud's figures are there; another site's report must not show them: it says what to run first.
    run, nb = papermill(
        sandbox,
        "report.ipynb",
        tmp_path / "report.ipynb",
        "-p",
        "site",
        "sintetis",
        "-p",
        "lang",
        "en",
        in_notebooks=True,
    )
    assert run.returncode != 0
    [line] = error_lines(nb)
    assert line.startswith("error: the report of site 'sintetis' ") and "01_case_table.ipynb" in line
    assert line.endswith("make SITE=sintetis")
    assert "<figure" not in json.dumps(nb.cells)
    assert sorted(p.name for p in (sandbox / "build/interactive").iterdir()) == ["pujud"]


@pytest.mark.e2e  # one notebook run
def test_the_report_run_first_shows_the_sites_build(built, tmp_path):
    """In the session's built compendium, nothing ran interactively: the report uses figures/sintetis/ and
    reports/sintetis/provenance.json, writing nothing."""
    run, nb = papermill(built, "report.ipynb", tmp_path / "report.ipynb", "-p", "site", "sintetis", "-p", "lang", "en")
    assert run.returncode == 0, run.stderr
    assert not (built / "build/interactive").exists()
    shown = json.dumps([o for c in nb.cells for o in c.get("outputs", [])])
    assert "(figures/sintetis/, reports/sintetis/)" in shown
    png = base64.b64encode((built / "figures/sintetis/trend.en.png").read_bytes()).decode()
    assert png in shown
    record = json.loads((built / "reports/sintetis/provenance.json").read_text())
    assert all(digest in shown for digest in record["inputs"].values())  # the build's provenance, in appendix C


@pytest.mark.e2e  # one notebook run
def test_the_comparison_runs_with_its_own_defaults(tmp_path):
    sandbox = compendium(tmp_path / "copy", "pujud", "sintetis", notebooks=True)
    run, _ = papermill(sandbox, "compare.ipynb", tmp_path / "compare.ipynb", in_notebooks=True)
    assert run.returncode == 0, run.stderr
    assert (sandbox / "build/interactive/compare-pujud-sintetis/figures/compare_cases.id.png").is_file()
